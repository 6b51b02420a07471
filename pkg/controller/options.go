// Package controller is `skiff controller`: it watches Kubernetes and Istio configuration, rebuilds the
// immutable mesh model on change, pushes xDS to connected proxies, signs workload certificates, and
// publishes the mesh root certificate to every namespace.
package controller

import (
	"log/slog"
	"net/http"
	"time"

	"k8s.io/client-go/rest"
)

// Options configure a controller. Addresses use ":0" style to pick free ports (tests).
type Options struct {
	Kube *rest.Config
	// Namespace is where the controller runs and keeps its CA Secret (the mesh namespace).
	Namespace string
	// ServiceName is the controller's Service, for the DNS names of its serving certificate.
	ServiceName  string
	TrustDomain  string
	DomainSuffix string
	// MeshConfigMap is the ConfigMap in Namespace whose "mesh" key holds the mesh config (Telemetry
	// providers, access log and tracing settings); watched. Empty means "istio".
	MeshConfigMap string

	XDSAddr        string // plaintext xDS (15010)
	SecureAddr     string // xDS and the CA over TLS (15012)
	ReadyAddr      string // /ready and /version (8080)
	MonitoringAddr string // /metrics and /version (15014)
	// WebhookAddr serves Webhooks over TLS (15017) when Webhooks is set, with a certificate from the mesh
	// CA; the named webhook configurations get the mesh root as their caBundle.
	WebhookAddr                     string
	Webhooks                        http.Handler
	MutatingWebhookConfigurations   []string
	ValidatingWebhookConfigurations []string

	WorkloadCertTTL    time.Duration
	MaxWorkloadCertTTL time.Duration
	// Debounce is how long changes are collected before one rebuild and push.
	Debounce time.Duration
	// LeaderElection picks the replica that performs the cluster-wide writes (see LeaderElection).
	LeaderElection LeaderElection

	Log *slog.Logger
}

// Defaults match the ports the installer's Deployment exposes.
func Defaults() Options {
	return Options{
		ServiceName:        "istiod",
		TrustDomain:        "cluster.local",
		DomainSuffix:       "cluster.local",
		XDSAddr:            ":15010",
		SecureAddr:         ":15012",
		ReadyAddr:          ":8080",
		MonitoringAddr:     ":15014",
		WebhookAddr:        ":15017",
		WorkloadCertTTL:    24 * time.Hour,
		MaxWorkloadCertTTL: 90 * 24 * time.Hour,
		Debounce:           100 * time.Millisecond,
		LeaderElection:     DefaultLeaderElection(),
	}
}

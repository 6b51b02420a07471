package agent

import (
	"encoding/json"
	"path/filepath"

	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/xds"
)

// BootstrapOptions describe the workload and where its xDS comes from.
type BootstrapOptions struct {
	XDSAddr      string // the controller's xDS port, e.g. istiod.istio-system.svc:15010
	PodName      string
	PodNamespace string
	PodIP        string
	Labels       map[string]string
	DomainSuffix string
}

// GRPCBootstrapJSON is the bootstrap grpc-go, grpc-java and grpc-c++ read from GRPC_XDS_BOOTSTRAP: the
// xDS server, an Istio-style node (so the controller generates proxyless configuration), and a
// file_watcher certificate provider over the agent's files for xDS-managed mTLS.
func GRPCBootstrapJSON(o BootstrapOptions, certDir string) ([]byte, error) {
	if o.XDSAddr == "" || o.PodNamespace == "" {
		return nil, errs.Usage("the gRPC bootstrap needs the xDS address and the pod namespace")
	}
	suffix := o.DomainSuffix
	if suffix == "" {
		suffix = "cluster.local"
	}
	labels := map[string]string{}
	for k, v := range o.Labels {
		labels[k] = v
	}
	doc := map[string]any{
		"xds_servers": []any{map[string]any{
			"server_uri":      o.XDSAddr,
			"channel_creds":   []any{map[string]any{"type": "insecure"}},
			"server_features": []string{"xds_v3"},
		}},
		"node": map[string]any{
			"id": "sidecar~" + o.PodIP + "~" + o.PodName + "." + o.PodNamespace + "~" + o.PodNamespace + ".svc." + suffix,
			"metadata": map[string]any{
				"GENERATOR": "grpc",
				"NAMESPACE": o.PodNamespace,
				"LABELS":    labels,
			},
		},
		"certificate_providers": map[string]any{
			"default": map[string]any{
				"plugin_name": "file_watcher",
				"config": map[string]any{
					"certificate_file":    filepath.Join(certDir, CertChainFile),
					"private_key_file":    filepath.Join(certDir, KeyFile),
					"ca_certificate_file": filepath.Join(certDir, RootCertFile),
					"refresh_interval":    "900s",
				},
			},
		},
		// gRPC servers ask for their listener by this name; the controller generates it on request.
		"server_listener_resource_name_template": xds.GRPCInboundPrefix + "%s",
	}
	return json.MarshalIndent(doc, "", "  ")
}

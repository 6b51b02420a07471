// Package install renders mesh profiles to Kubernetes objects and applies, prunes, verifies and removes them.
package install

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Component is one installable part of the mesh; install reports progress per component, in this order.
type Component string

const (
	ComponentBase            Component = "Base"            // namespace, CRDs, ServiceAccounts, RBAC, mesh and injector ConfigMaps
	ComponentController      Component = "Controller"      // the skiff controller (istiod) Deployment, Service, webhooks
	ComponentIngressGateways Component = "IngressGateways" // ingress gateway Deployments and Services
	ComponentEgressGateways  Component = "EgressGateways"  // egress gateway Deployments and Services
	ComponentAddons          Component = "Addons"          // Kiali, Jaeger, Prometheus, Grafana
)

// Components lists every component in apply order.
var Components = []Component{ComponentBase, ComponentController, ComponentIngressGateways, ComponentEgressGateways, ComponentAddons}

// Labels every installed object carries; uninstall, prune and verify-install find Skiff's objects by them.
const (
	LabelManagedBy    = "app.kubernetes.io/managed-by" // value ManagedByValue
	ManagedByValue    = "skiff"
	LabelComponent    = "skiff.dev/component"    // a Component
	LabelInstallation = "skiff.dev/installation" // the installation's name (spec.revision or "default")
	LabelVersion      = "app.kubernetes.io/version"
	FieldManager      = "skiff"
)

// Manifest is the rendered objects of one component, already ordered for apply (CRDs and namespaces first).
type Manifest struct {
	Component Component
	Objects   []*unstructured.Unstructured
}

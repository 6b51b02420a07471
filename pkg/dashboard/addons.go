// Package dashboard port-forwards to the mesh's web UIs (Kiali, Jaeger, Grafana, ...) through the API server.
package dashboard

import (
	"sort"
	"strings"
)

// Addon describes where a dashboard's UI listens and how to find its pod.
type Addon struct {
	Name     string
	Selector string // label selector of the addon's pods, as the install profiles label them
	Port     int    // container port of the UI
	Path     string // URL path the UI is served under
	// InMeshNamespace is true for addons installed with the control plane; false for per-workload UIs (envoy).
	InMeshNamespace bool
	// Hint tells the user how to get the addon when it is missing.
	Hint string
}

const demoHint = "install it with 'skiff install --profile demo' (or --set spec.addons.%s.enabled=true)"

// Addons returns the dashboards Skiff knows, by name. A function, not a package-level map, so no caller can mutate it.
func Addons() map[string]Addon {
	return map[string]Addon{
		"kiali":      {Name: "kiali", Selector: "app=kiali", Port: 20001, Path: "/kiali", InMeshNamespace: true, Hint: demoHint},
		"jaeger":     {Name: "jaeger", Selector: "app=jaeger", Port: 16686, Path: "/", InMeshNamespace: true, Hint: demoHint},
		"grafana":    {Name: "grafana", Selector: "app=grafana", Port: 3000, Path: "/", InMeshNamespace: true, Hint: demoHint},
		"prometheus": {Name: "prometheus", Selector: "app=prometheus", Port: 9090, Path: "/", InMeshNamespace: true, Hint: demoHint},
		// Jaeger's collector serves the Zipkin API and UI-compatible endpoint on 9411.
		"zipkin": {Name: "zipkin", Selector: "app=jaeger", Port: 9411, Path: "/", InMeshNamespace: true, Hint: demoHint},
		// ControlZ is the controller's introspection page (Istio's port).
		"controlz": {Name: "controlz", Selector: "app=istiod", Port: 9876, Path: "/", InMeshNamespace: true, Hint: "install the control plane with 'skiff install'"},
		// Envoy's admin UI in a workload's sidecar; the pod is named on the command line.
		"envoy": {Name: "envoy", Port: 15000, Path: "/", Hint: "inject the sidecar with 'skiff kube-inject' or label the namespace istio-injection=enabled"},
	}
}

// AddonNames lists the dashboard names, sorted, for help texts and errors.
func AddonNames() []string {
	var names []string
	for n := range Addons() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (a Addon) hint() string {
	if strings.Contains(a.Hint, "%s") {
		return strings.ReplaceAll(a.Hint, "%s", a.Name)
	}
	return a.Hint
}

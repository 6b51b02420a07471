package model

import "slices"

// ExportToAnnotation is the Service annotation Istio reads for a Service's visibility.
const ExportToAnnotation = "networking.istio.io/exportTo"

// Visible applies Istio's exportTo to config or a service living in namespace, seen from a proxy in
// proxyNamespace: empty or "*" is everyone, "." the same namespace, "~" no one, other names those
// namespaces.
func Visible(exportTo []string, namespace, proxyNamespace string) bool {
	if len(exportTo) == 0 {
		return true
	}
	return slices.ContainsFunc(exportTo, func(e string) bool {
		return e == "*" || e == proxyNamespace || (e == "." && namespace == proxyNamespace)
	})
}

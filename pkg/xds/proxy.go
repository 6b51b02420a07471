package xds

import (
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"

	"skiff.dev/skiff/pkg/model"
)

// ProxyFromNode reads what Istio's agents and gRPC bootstraps put in the node: an ID of the form
// type~ip~pod.namespace~namespace.svc.cluster.local, and metadata NAMESPACE, LABELS and GENERATOR
// ("grpc" marks a proxyless client).
func ProxyFromNode(node *corev3.Node) *model.Proxy {
	p := &model.Proxy{ID: node.GetId()}
	parts := strings.Split(node.GetId(), "~")
	if len(parts) == 4 {
		if parts[0] == "router" {
			p.Type = model.Router
		}
		p.IP = parts[1]
		if _, ns, ok := strings.Cut(parts[2], "."); ok {
			p.Namespace = ns
		}
	}
	fields := node.GetMetadata().GetFields()
	if ns := fields["NAMESPACE"].GetStringValue(); ns != "" {
		p.Namespace = ns
	}
	if labels := fields["LABELS"].GetStructValue().GetFields(); len(labels) > 0 {
		p.Labels = make(map[string]string, len(labels))
		for k, v := range labels {
			p.Labels[k] = v.GetStringValue()
		}
	}
	if fields["GENERATOR"].GetStringValue() == "grpc" {
		p.Type = model.ProxylessGRPC
	}
	return p
}

package model

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Objects lists every object of the input, for passes that treat them alike (e.g. defaulting namespaces).
func (in *Input) Objects() []metav1.Object {
	var out []metav1.Object
	out = appendObjects(out, in.Services)
	out = appendObjects(out, in.Pods)
	out = appendObjects(out, in.EndpointSlices)
	out = appendObjects(out, in.VirtualServices)
	out = appendObjects(out, in.DestinationRules)
	out = appendObjects(out, in.ServiceEntries)
	out = appendObjects(out, in.Gateways)
	out = appendObjects(out, in.Secrets)
	out = appendObjects(out, in.PeerAuthentications)
	out = appendObjects(out, in.AuthorizationPolicies)
	out = appendObjects(out, in.RequestAuthentications)
	out = appendObjects(out, in.Telemetries)
	return appendObjects(out, in.Sidecars)
}

func appendObjects[T metav1.Object](out []metav1.Object, objs []T) []metav1.Object {
	for _, o := range objs {
		out = append(out, o)
	}
	return out
}

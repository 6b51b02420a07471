package install

import (
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// foldGatewayValues applies values.gateways.<name> to the gateway of that name in spec.components, over
// its k8s settings (so `--set values.gateways.istio-ingressgateway.type=NodePort` from Istio's docs
// works), then empties values.gateways so there is one place a gateway's settings live.
func (s *Spec) foldGatewayValues() error {
	for _, name := range slices.Sorted(maps.Keys(s.Values.Gateways)) {
		gw := s.gatewayNamed(name)
		if gw == nil {
			return fmt.Errorf("spec.values.gateways.%s: no gateway named %q in spec.components", name, name)
		}
		v := s.Values.Gateways[name]
		k := &gw.K8s
		if v.Type != "" {
			k.Service.Type = v.Type
		}
		if len(v.Ports) > 0 {
			k.Service.Ports = v.Ports
		}
		if v.LoadBalancerIP != "" {
			k.Service.LoadBalancerIP = v.LoadBalancerIP
		}
		if len(v.LoadBalancerSourceRanges) > 0 {
			k.Service.LoadBalancerSourceRanges = v.LoadBalancerSourceRanges
		}
		if v.ExternalTrafficPolicy != "" {
			k.Service.ExternalTrafficPolicy = v.ExternalTrafficPolicy
		}
		if v.Resources != nil {
			k.Resources = v.Resources
		}
		if len(v.Tolerations) > 0 {
			k.Tolerations = v.Tolerations
		}
		gw.Label = mergeStringMaps(gw.Label, v.Labels)
		k.ServiceAnnotations = mergeStringMaps(k.ServiceAnnotations, v.ServiceAnnotations)
		k.PodAnnotations = mergeStringMaps(k.PodAnnotations, v.PodAnnotations)
		k.NodeSelector = mergeStringMaps(k.NodeSelector, v.NodeSelector)
		for _, n := range slices.Sorted(maps.Keys(v.Env)) {
			k.Env = mergeEnv(k.Env, []corev1.EnvVar{{Name: n, Value: v.Env[n]}})
		}
	}
	s.Values.Gateways = nil
	return nil
}

func (s *Spec) gatewayNamed(name string) *GatewaySpec {
	for _, list := range [][]GatewaySpec{s.Components.IngressGateways, s.Components.EgressGateways} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

func mergeStringMaps(base, extra map[string]string) map[string]string {
	if len(extra) == 0 {
		return base
	}
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, extra)
	return out
}

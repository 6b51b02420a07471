package install

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"skiff.dev/skiff/pkg/version"
)

// DefaultNamespace is the mesh namespace when a profile names none; Istio's, so runbooks keep working.
const DefaultNamespace = "istio-system"

// complete fills in what a profile may leave out (namespace, tag, the global hub/tag mirrors) and checks
// what the schema alone cannot: names that must be valid Kubernetes names, ranges, duplicates.
func (p *Profile) complete() error {
	p.APIVersion, p.Kind = APIVersion, Kind
	s := &p.Spec
	// spec.namespace/hub/tag and values.global.istioNamespace/hub/tag mean the same, as in Istio; spec wins.
	s.Namespace = firstNonEmpty(s.Namespace, s.Values.Global.IstioNamespace, DefaultNamespace)
	s.Hub = firstNonEmpty(s.Hub, s.Values.Global.Hub)
	s.Tag = firstNonEmpty(s.Tag, s.Values.Global.Tag, version.Base)
	s.Values.Global.Hub, s.Values.Global.Tag = s.Hub, s.Tag
	s.Values.Global.IstioNamespace = s.Namespace
	s.Values.Revision = s.Revision

	if err := s.foldGatewayValues(); err != nil {
		return err
	}
	if s.Hub == "" {
		return fmt.Errorf("spec.hub: no image registry set (set spec.hub or values.global.hub)")
	}
	if err := checkDNSLabel("spec.namespace", s.Namespace); err != nil {
		return err
	}
	if s.Revision != "" {
		if err := checkDNSLabel("spec.revision", s.Revision); err != nil {
			return err
		}
	}
	if t := s.Values.Pilot.TraceSampling; t < 0 || t > 100 {
		return fmt.Errorf("spec.values.pilot.traceSampling: %v is not a percentage between 0 and 100", t)
	}
	seen := map[string]string{}
	for _, g := range []struct {
		field string
		list  []GatewaySpec
	}{{"ingressGateways", s.Components.IngressGateways}, {"egressGateways", s.Components.EgressGateways}} {
		for i, gw := range g.list {
			path := fmt.Sprintf("spec.components.%s[%d]", g.field, i)
			if err := checkDNSLabel(path+".name", gw.Name); err != nil {
				return err
			}
			if gw.Namespace != "" {
				if err := checkDNSLabel(path+".namespace", gw.Namespace); err != nil {
					return err
				}
			}
			if prev, dup := seen[gw.Name]; dup {
				return fmt.Errorf("%s.name: gateway %q is already defined at %s", path, gw.Name, prev)
			}
			seen[gw.Name] = path
		}
	}
	return nil
}

func checkDNSLabel(path, v string) error {
	if v == "" {
		return fmt.Errorf("%s: must not be empty", path)
	}
	if msgs := validation.IsDNS1123Label(v); len(msgs) > 0 {
		return fmt.Errorf("%s: %q is not a valid name: %s", path, v, strings.Join(msgs, "; "))
	}
	return nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

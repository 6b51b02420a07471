package analyze

import (
	"strings"

	"istio.io/api/annotation"
	"istio.io/api/label"
)

// annotationsAnalyzer checks istio.io annotations against istio.io/api/annotation: unknown names (IST0108),
// the wrong kind of object (IST0107) and deprecated names (IST0135). Pod templates of workload controllers
// are checked as pods, since that is where their annotations take effect.
func annotationsAnalyzer() Analyzer {
	return Analyzer{
		Name:        "annotations.K8sAnalyzer",
		Description: "Checks Istio annotations on Kubernetes and Istio objects",
		Codes:       []MessageType{UnknownAnnotation, MisplacedAnnotation, DeprecatedAnnotation},
		Run: func(s *Snapshot, report func(Message)) {
			known := map[string]*annotation.Instance{}
			for _, a := range annotation.AllResourceAnnotations() {
				known[a.Name] = a
			}
			for _, r := range s.Resources() {
				checkAnnotations(r, r.Key.Kind, r.Annotations, r.Labels, []any{"metadata", "annotations"}, known, report)
				if t := r.Template; t != nil && t.templatePath != nil {
					path := append(append([]any{}, t.templatePath...), "metadata", "annotations")
					checkAnnotations(r, "Pod", t.Annotations, t.Labels, path, known, report)
				}
			}
		},
	}
}

func checkAnnotations(r *Resource, kind string, anns, labels map[string]string, path []any,
	known map[string]*annotation.Instance, report func(Message)) {
	for _, name := range sortedKeys(anns) {
		if !isIstioAnnotation(name) || setByIstio(name) {
			continue
		}
		line := r.Line(append(path, name)...)
		def := known[name]
		if def == nil {
			report(newMessage(UnknownAnnotation, r, line, name))
			continue
		}
		if def.Deprecated {
			_, hasLabel := labels[label.SidecarInject.Name]
			if !(name == annotation.SidecarInject.Name && hasLabel) {
				extra := ""
				if name == annotation.SidecarInject.Name {
					extra = ` in favor of the "sidecar.istio.io/inject" label`
				}
				report(newMessage(DeprecatedAnnotation, r, line, name, extra))
			}
		}
		var kinds []string
		anyKind := false
		for _, rt := range def.Resources {
			if rt == annotation.Any {
				anyKind = true
			}
			if s := rt.String(); s != "Unknown" {
				kinds = append(kinds, s)
			}
		}
		if !anyKind && !contains(kinds, kind) {
			report(newMessage(MisplacedAnnotation, r, line, name, strings.Join(kinds, ", ")))
		}
	}
}

// isIstioAnnotation mirrors istioctl: annotations in an istio.io domain, plus the documented ingress class.
func isIstioAnnotation(name string) bool {
	if name == "kubernetes.io/ingress.class" {
		return true
	}
	domain, _, found := strings.Cut(name, "/")
	return found && strings.HasSuffix(domain, "istio.io")
}

// setByIstio lists annotations istiod and its controllers write themselves; istioctl never reports them.
func setByIstio(name string) bool {
	switch name {
	case annotation.SidecarStatus.Name, annotation.GatewayControllerVersion.Name, annotation.IoIstioRev.Name:
		return true
	}
	return false
}

package install

import "strings"

// componentTitle is how progress lines name a component, in istioctl's words where it has them.
func componentTitle(c Component) string {
	switch c {
	case ComponentBase:
		return "Skiff core"
	case ComponentIngressGateways:
		return "Ingress gateways"
	case ComponentEgressGateways:
		return "Egress gateways"
	case "":
		return "other objects"
	}
	return string(c)
}

// titles joins component titles for a one-line summary; an empty list reads "nothing".
func titles(cs []Component) string {
	if len(cs) == 0 {
		return "nothing"
	}
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = componentTitle(c)
	}
	return strings.Join(names, ", ")
}

func componentsOf(ms []Manifest) []Component {
	cs := make([]Component, len(ms))
	for i, m := range ms {
		cs[i] = m.Component
	}
	return cs
}

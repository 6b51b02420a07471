package proxyconfig

import (
	"strings"

	"skiff.dev/skiff/pkg/errs"
)

// View is one section of the configuration.
type View string

// The views, in the order "all" prints them.
const (
	Cluster  View = "cluster"
	Listener View = "listener"
	Route    View = "route"
	Endpoint View = "endpoint"
	Secret   View = "secret"
	All      View = "all"
)

// Views lists the accepted view names.
func Views() []View { return []View{Cluster, Listener, Route, Endpoint, Secret, All} }

// ViewNames is Views as strings, for help texts and shell completion.
func ViewNames() []string {
	var out []string
	for _, v := range Views() {
		out = append(out, string(v))
	}
	return out
}

// ParseView accepts a view name and istioctl's plural and short aliases (clusters, c, ...).
func ParseView(s string) (View, error) {
	aliases := map[string]View{
		"cluster": Cluster, "clusters": Cluster, "c": Cluster,
		"listener": Listener, "listeners": Listener, "l": Listener,
		"route": Route, "routes": Route, "r": Route,
		"endpoint": Endpoint, "endpoints": Endpoint, "ep": Endpoint, "eps": Endpoint,
		"secret": Secret, "secrets": Secret, "s": Secret,
		"all": All,
	}
	if v, ok := aliases[strings.ToLower(s)]; ok {
		return v, nil
	}
	return "", errs.Usage("unknown view %q (choose one of: %s)", s, strings.Join(ViewNames(), ", "))
}

// Output is the rendering format.
type Output string

// The output formats.
const (
	Short Output = "short"
	JSON  Output = "json"
	YAML  Output = "yaml"
)

// ParseOutput checks an -o value.
func ParseOutput(s string) (Output, error) {
	switch o := Output(strings.ToLower(s)); o {
	case Short, JSON, YAML:
		return o, nil
	case "":
		return Short, nil
	}
	return "", errs.Usage("unknown output format %q (choose one of: short, json, yaml)", s)
}

package proxyconfig

import (
	"fmt"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
)

func routeHeaders() []string {
	return []string{"NAME", "VHOST NAME", "DOMAINS", "MATCH", "VIRTUAL SERVICE"}
}

func (f Filter) keepRoute(r *routev3.RouteConfiguration) bool {
	return f.Name == "" || r.GetName() == f.Name
}

// routeRows prints one row per route of every virtual host.
func routeRows(configs []*routev3.RouteConfiguration) [][]string {
	var rows [][]string
	for _, rc := range configs {
		for _, vh := range rc.GetVirtualHosts() {
			domains := summarizeDomains(vh.GetDomains())
			if len(vh.GetRoutes()) == 0 {
				rows = append(rows, []string{orDash(rc.GetName()), vh.GetName(), domains, "-", "-"})
			}
			for _, r := range vh.GetRoutes() {
				rows = append(rows, []string{orDash(rc.GetName()), vh.GetName(), domains, routeMatch(r.GetMatch()), istioConfig(r.GetMetadata(), "virtual-service")})
			}
		}
	}
	return rows
}

// summarizeDomains keeps the table narrow: Istio lists every short form of a host (reviews,
// reviews.default, the cluster IP, ...); the first one and a count say enough.
func summarizeDomains(domains []string) string {
	switch len(domains) {
	case 0:
		return "-"
	case 1:
		return domains[0]
	}
	return fmt.Sprintf("%s +%d more", domains[0], len(domains)-1)
}

// routeMatch renders a route's path match as istioctl does: a prefix ends in *, a regex is shown as is.
func routeMatch(m *routev3.RouteMatch) string {
	var s string
	switch {
	case m.GetPrefix() != "" || m.GetPathSpecifier() == nil:
		s = m.GetPrefix() + "*"
	case m.GetPath() != "":
		s = m.GetPath()
	case m.GetSafeRegex() != nil:
		s = m.GetSafeRegex().GetRegex()
	case m.GetPathSeparatedPrefix() != "":
		s = m.GetPathSeparatedPrefix() + "/*"
	case m.GetConnectMatcher() != nil:
		s = "CONNECT"
	default:
		s = "/*"
	}
	if s == "*" {
		s = "/*"
	}
	var headers []string
	for _, h := range m.GetHeaders() {
		headers = append(headers, h.GetName())
	}
	if len(headers) > 0 {
		s += " (headers: " + strings.Join(headers, ",") + ")"
	}
	return s
}

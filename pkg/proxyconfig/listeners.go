package proxyconfig

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
)

func listenerHeaders() []string { return []string{"ADDRESS", "PORT", "MATCH", "DESTINATION"} }

func (f Filter) keepListener(l *listenerv3.Listener) bool {
	addr, port := socketAddress(l.GetAddress())
	return (f.Address == "" || addr == f.Address) && (f.Port == 0 || port == strconv.Itoa(f.Port))
}

// listenerRows prints one row per filter chain (and the default chain), as istioctl does.
func listenerRows(listeners []*listenerv3.Listener) [][]string {
	var rows [][]string
	listeners = slices.Clone(listeners)
	slices.SortStableFunc(listeners, func(a, b *listenerv3.Listener) int {
		aa, ap := socketAddress(a.GetAddress())
		ba, bp := socketAddress(b.GetAddress())
		return cmp.Or(cmp.Compare(aa, ba), cmp.Compare(portNumber(ap), portNumber(bp)))
	})
	for _, l := range listeners {
		addr, port := socketAddress(l.GetAddress())
		chains := l.GetFilterChains()
		if d := l.GetDefaultFilterChain(); d != nil {
			chains = append(chains[:len(chains):len(chains)], d)
		}
		if len(chains) == 0 {
			rows = append(rows, []string{addr, port, "ALL", "-"})
		}
		for _, fc := range chains {
			rows = append(rows, []string{addr, port, chainMatch(fc.GetFilterChainMatch()), chainDestination(fc)})
		}
	}
	return rows
}

func socketAddress(a *corev3.Address) (addr, port string) {
	sa := a.GetSocketAddress()
	if sa == nil {
		if p := a.GetPipe(); p != nil {
			return p.GetPath(), "-"
		}
		return "-", "-"
	}
	return sa.GetAddress(), strconv.FormatUint(uint64(sa.GetPortValue()), 10)
}

// chainMatch describes a filter chain match the way istioctl does: "ALL" when it matches everything.
func chainMatch(m *listenerv3.FilterChainMatch) string {
	var parts []string
	if p := m.GetDestinationPort(); p != nil {
		parts = append(parts, fmt.Sprintf("Port: %d", p.GetValue()))
	}
	for _, r := range m.GetPrefixRanges() {
		parts = append(parts, fmt.Sprintf("Addr: %s/%d", r.GetAddressPrefix(), r.GetPrefixLen().GetValue()))
	}
	if sni := m.GetServerNames(); len(sni) > 0 {
		parts = append(parts, "SNI: "+strings.Join(sni, ","))
	}
	if t := m.GetTransportProtocol(); t != "" {
		parts = append(parts, "Trans: "+t)
	}
	if app := m.GetApplicationProtocols(); len(app) > 0 {
		parts = append(parts, "App: "+strings.Join(app, ","))
	}
	if len(parts) == 0 {
		return "ALL"
	}
	return strings.Join(parts, "; ")
}

// chainDestination says where a chain sends traffic: the route configuration of its HTTP connection
// manager, or the cluster of its TCP proxy.
func chainDestination(fc *listenerv3.FilterChain) string {
	for _, f := range fc.GetFilters() {
		m, err := f.GetTypedConfig().UnmarshalNew()
		if err != nil {
			continue
		}
		switch c := m.(type) {
		case *hcmv3.HttpConnectionManager:
			if rds := c.GetRds(); rds != nil {
				return "Route: " + rds.GetRouteConfigName()
			}
			if rc := c.GetRouteConfig(); rc != nil {
				return "Inline Route: " + orDash(rc.GetName())
			}
			return "HTTP"
		case *tcpproxyv3.TcpProxy:
			if cl := c.GetCluster(); cl != "" {
				return "Cluster: " + cl
			}
			var names []string
			for _, w := range c.GetWeightedClusters().GetClusters() {
				names = append(names, fmt.Sprintf("%s (%d)", w.GetName(), w.GetWeight()))
			}
			return "WeightedCluster: " + strings.Join(names, ", ")
		}
	}
	return "Non-HTTP/Non-TCP"
}

package describe

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"google.golang.org/protobuf/types/known/durationpb"
	networking "istio.io/api/networking/v1alpha3"
)

// MatchSummary condenses an HTTP route's match conditions to one line, "all requests" when there are none.
// Conditions inside one match are ANDed ("uri prefix /api, header end-user=jason"), matches are ORed.
func MatchSummary(ms []*networking.HTTPMatchRequest) string {
	var alts []string
	for _, m := range ms {
		var c []string
		add := func(what string, sm *networking.StringMatch) {
			if s := stringMatch(sm); s != "" {
				c = append(c, what+" "+s)
			}
		}
		add("uri", m.GetUri())
		add("method", m.GetMethod())
		add("authority", m.GetAuthority())
		add("scheme", m.GetScheme())
		for _, k := range slices.Sorted(maps.Keys(m.GetHeaders())) {
			add("header "+k, m.GetHeaders()[k])
		}
		for _, k := range slices.Sorted(maps.Keys(m.GetQueryParams())) {
			add("query "+k, m.GetQueryParams()[k])
		}
		for _, k := range slices.Sorted(maps.Keys(m.GetWithoutHeaders())) {
			c = append(c, "without header "+k)
		}
		if m.GetPort() != 0 {
			c = append(c, fmt.Sprintf("port %d", m.GetPort()))
		}
		if len(m.GetSourceLabels()) > 0 {
			c = append(c, "from "+Labels(m.GetSourceLabels()))
		}
		if m.GetSourceNamespace() != "" {
			c = append(c, "from namespace "+m.GetSourceNamespace())
		}
		if len(m.GetGateways()) > 0 {
			c = append(c, "via "+strings.Join(m.GetGateways(), ","))
		}
		if len(c) > 0 {
			alts = append(alts, strings.Join(c, ", "))
		}
	}
	if len(alts) == 0 {
		return "all requests"
	}
	return strings.Join(alts, " or ")
}

func stringMatch(sm *networking.StringMatch) string {
	switch sm.GetMatchType().(type) {
	case *networking.StringMatch_Exact:
		return "=" + sm.GetExact()
	case *networking.StringMatch_Prefix:
		return "prefix " + sm.GetPrefix()
	case *networking.StringMatch_Regex:
		return "~ " + sm.GetRegex()
	}
	return ""
}

// L4Match is one match of a TCP or TLS route: a port and, for TLS, SNI names; both optional.
type L4Match struct {
	Port uint32
	SNI  []string
}

// L4MatchSummary condenses TCP and TLS route matches like MatchSummary: conditions ANDed, matches ORed.
func L4MatchSummary(ms []L4Match) string {
	var alts []string
	for _, m := range ms {
		var c []string
		if m.Port != 0 {
			c = append(c, fmt.Sprintf("port %d", m.Port))
		}
		if len(m.SNI) > 0 {
			c = append(c, "sni "+strings.Join(m.SNI, ","))
		}
		if len(c) > 0 {
			alts = append(alts, strings.Join(c, ", "))
		}
	}
	if len(alts) == 0 {
		return "all connections"
	}
	return strings.Join(alts, " or ")
}

// Weights are the traffic shares of a route's destinations in percent, as Envoy applies them: a single
// destination takes everything, unset weights everywhere split evenly.
func Weights(ws []int32) []int32 {
	out := make([]int32, len(ws))
	var total int32
	for _, w := range ws {
		total += w
	}
	for i, w := range ws {
		switch {
		case len(ws) == 1:
			out[i] = 100
		case total == 0:
			out[i] = 100 / int32(len(ws))
		default:
			out[i] = w * 100 / total
		}
	}
	return out
}

// Labels prints a label set as sorted k=v pairs.
func Labels(l map[string]string) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(l)) {
		out = append(out, k+"="+l[k])
	}
	return strings.Join(out, ",")
}

// SubsetMatches says whether a subset's labels are all on the workload; a subset without labels is the
// whole service.
func SubsetMatches(subsetLabels, labels map[string]string) bool {
	for k, v := range subsetLabels {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// EffectiveTLS picks the client TLS settings for a port of a subset as Istio merges them: subset port
// level, subset, top-level port level, top level. Nil when the DestinationRule sets none.
func EffectiveTLS(dr *networking.DestinationRule, subset string, port uint32) *networking.ClientTLSSettings {
	var policies []*networking.TrafficPolicy
	for _, s := range dr.GetSubsets() {
		if s.GetName() == subset && subset != "" {
			policies = append(policies, s.GetTrafficPolicy())
		}
	}
	policies = append(policies, dr.GetTrafficPolicy())
	for _, tp := range policies {
		for _, pl := range tp.GetPortLevelSettings() {
			if pl.GetPort().GetNumber() == port && pl.GetTls() != nil {
				return pl.GetTls()
			}
		}
		if tp.GetTls() != nil {
			return tp.GetTls()
		}
	}
	return nil
}

// PolicyHighlights lists the traffic policy settings people look for when debugging: load balancing,
// connection pool limits, outlier detection and TLS.
func PolicyHighlights(tp *networking.TrafficPolicy) []string {
	if tp == nil {
		return nil
	}
	var out []string
	if lb := tp.GetLoadBalancer(); lb != nil {
		switch {
		case lb.GetConsistentHash() != nil:
			out = append(out, "load balancer: consistent hash on "+hashKey(lb.GetConsistentHash()))
		case lb.GetSimple() != networking.LoadBalancerSettings_UNSPECIFIED:
			out = append(out, "load balancer: "+lb.GetSimple().String())
		}
		if lb.GetLocalityLbSetting() != nil {
			out = append(out, "locality load balancing")
		}
	}
	if cp := tp.GetConnectionPool(); cp != nil {
		var c []string
		num := func(what string, v int32) {
			if v != 0 {
				c = append(c, fmt.Sprintf("%s %d", what, v))
			}
		}
		num("max connections", cp.GetTcp().GetMaxConnections())
		if d := duration(cp.GetTcp().GetConnectTimeout()); d != "" {
			c = append(c, "connect timeout "+d)
		}
		num("max pending requests", cp.GetHttp().GetHttp1MaxPendingRequests())
		num("max requests", cp.GetHttp().GetHttp2MaxRequests())
		num("max requests per connection", cp.GetHttp().GetMaxRequestsPerConnection())
		num("max retries", cp.GetHttp().GetMaxRetries())
		if len(c) > 0 {
			out = append(out, "connection pool: "+strings.Join(c, ", "))
		}
	}
	if od := tp.GetOutlierDetection(); od != nil {
		var c []string
		if v := od.GetConsecutive_5XxErrors(); v != nil {
			c = append(c, fmt.Sprintf("eject after %d consecutive 5xx", v.GetValue()))
		} else if v := od.GetConsecutiveGatewayErrors(); v != nil {
			c = append(c, fmt.Sprintf("eject after %d consecutive gateway errors", v.GetValue()))
		}
		if d := duration(od.GetInterval()); d != "" {
			c = append(c, "every "+d)
		}
		if d := duration(od.GetBaseEjectionTime()); d != "" {
			c = append(c, "for "+d)
		}
		if v := od.GetMaxEjectionPercent(); v != 0 {
			c = append(c, fmt.Sprintf("at most %d%%", v))
		}
		out = append(out, "outlier detection: "+cmpOr(strings.Join(c, ", "), "defaults"))
	}
	if t := tp.GetTls(); t != nil {
		out = append(out, "tls: "+t.GetMode().String())
	}
	for _, pl := range tp.GetPortLevelSettings() {
		for _, h := range PolicyHighlights(&networking.TrafficPolicy{LoadBalancer: pl.GetLoadBalancer(), ConnectionPool: pl.GetConnectionPool(), OutlierDetection: pl.GetOutlierDetection(), Tls: pl.GetTls()}) {
			out = append(out, fmt.Sprintf("port %d %s", pl.GetPort().GetNumber(), h))
		}
	}
	return out
}

func hashKey(ch *networking.LoadBalancerSettings_ConsistentHashLB) string {
	switch {
	case ch.GetHttpHeaderName() != "":
		return "header " + ch.GetHttpHeaderName()
	case ch.GetHttpCookie() != nil:
		return "cookie " + ch.GetHttpCookie().GetName()
	case ch.GetUseSourceIp():
		return "source IP"
	case ch.GetHttpQueryParameterName() != "":
		return "query parameter " + ch.GetHttpQueryParameterName()
	}
	return "(no key)"
}

func duration(d *durationpb.Duration) string {
	if d == nil {
		return ""
	}
	return d.AsDuration().String()
}

func cmpOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

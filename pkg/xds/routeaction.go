package xds

import (
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	previoushostsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/retry/host/previous_hosts/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	networking "istio.io/api/networking/v1alpha3"
)

// Retries, mirroring, redirects and header rewrites: the parts of an HTTP route's action that stand alone.

// Istio's mesh-wide default retry policy, used when a route sets no retries.
const (
	defaultRetryAttempts = 2
	defaultRetryOn       = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"
)

// retryPolicy: no retries block gives Istio's default policy; attempts: 0 switches retries off.
func retryPolicy(r *networking.HTTPRetry) *routev3.RetryPolicy {
	attempts, retryOn := int32(defaultRetryAttempts), defaultRetryOn
	if r != nil {
		attempts = r.GetAttempts()
		if r.GetRetryOn() != "" {
			retryOn = r.GetRetryOn()
		}
	}
	if attempts <= 0 {
		return nil
	}
	p := &routev3.RetryPolicy{
		NumRetries:                    u32(uint32(attempts)),
		HostSelectionRetryMaxAttempts: 5,
		RetryHostPredicate: []*routev3.RetryPolicy_RetryHostPredicate{{
			Name:       "envoy.retry_host_predicates.previous_hosts",
			ConfigType: &routev3.RetryPolicy_RetryHostPredicate_TypedConfig{TypedConfig: toAny(&previoushostsv3.PreviousHostsPredicate{})},
		}},
	}
	if r != nil && r.GetRetryIgnorePreviousHosts() != nil && !r.GetRetryIgnorePreviousHosts().GetValue() {
		p.RetryHostPredicate = nil
	}
	// Status codes in retryOn ("503,connect-failure") become retriable_status_codes, as in Istio.
	var policies []string
	for _, part := range strings.Split(retryOn, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if code, err := strconv.ParseUint(part, 10, 32); err == nil {
			if code >= 100 && code < 600 {
				p.RetriableStatusCodes = append(p.RetriableStatusCodes, uint32(code))
			}
			continue
		}
		policies = append(policies, part)
	}
	if len(p.RetriableStatusCodes) > 0 && !containsString(policies, "retriable-status-codes") {
		policies = append(policies, "retriable-status-codes")
	}
	if containsString(policies, "retriable-status-codes") && len(p.RetriableStatusCodes) == 0 {
		p.RetriableStatusCodes = []uint32{503}
	}
	p.RetryOn = strings.Join(policies, ",")
	if r != nil {
		if d := positiveDuration(r.GetPerTryTimeout()); d != nil {
			p.PerTryTimeout = d
		}
		if d := positiveDuration(r.GetBackoff()); d != nil {
			p.RetryBackOff = &routev3.RetryPolicy_RetryBackOff{BaseInterval: d, MaxInterval: durationpb.New(10 * d.AsDuration())}
		}
	}
	return p
}

func containsString(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// mirrors merges the single mirror (with mirrorPercentage) and the mirrors list; unset percentages mean all.
func (g *generator) mirrors(hr *networking.HTTPRoute, rc routeContext) []*routev3.RouteAction_RequestMirrorPolicy {
	var out []*routev3.RouteAction_RequestMirrorPolicy
	add := func(d *networking.Destination, pct *networking.Percent) {
		if d.GetHost() == "" {
			return
		}
		p := 100.0
		if pct != nil {
			p = pct.GetValue()
		}
		out = append(out, &routev3.RouteAction_RequestMirrorPolicy{
			Cluster:         g.destinationCluster(d, rc),
			RuntimeFraction: &corev3.RuntimeFractionalPercent{DefaultValue: percentToFraction(p)},
		})
	}
	if hr.GetMirror() != nil {
		pct := hr.GetMirrorPercentage()
		if pct == nil && hr.GetMirrorPercent() != nil {
			pct = &networking.Percent{Value: float64(hr.GetMirrorPercent().GetValue())}
		}
		add(hr.GetMirror(), pct)
	}
	for _, m := range hr.GetMirrors() {
		add(m.GetDestination(), m.GetPercentage())
	}
	return out
}

func redirect(rd *networking.HTTPRedirect) *routev3.RedirectAction {
	a := &routev3.RedirectAction{HostRedirect: rd.GetAuthority()}
	if rd.GetUri() != "" {
		a.PathRewriteSpecifier = &routev3.RedirectAction_PathRedirect{PathRedirect: rd.GetUri()}
	} else if rd.GetPrefixRewrite() != "" {
		a.PathRewriteSpecifier = &routev3.RedirectAction_PrefixRewrite{PrefixRewrite: rd.GetPrefixRewrite()}
	}
	switch rd.GetRedirectCode() {
	case 302:
		a.ResponseCode = routev3.RedirectAction_FOUND
	case 303:
		a.ResponseCode = routev3.RedirectAction_SEE_OTHER
	case 307:
		a.ResponseCode = routev3.RedirectAction_TEMPORARY_REDIRECT
	case 308:
		a.ResponseCode = routev3.RedirectAction_PERMANENT_REDIRECT
	default:
		a.ResponseCode = routev3.RedirectAction_MOVED_PERMANENTLY
	}
	if s := rd.GetScheme(); s != "" {
		a.SchemeRewriteSpecifier = &routev3.RedirectAction_SchemeRedirect{SchemeRedirect: s}
	}
	if p := rd.GetPort(); p > 0 && p <= 65535 {
		a.PortRedirect = p
	}
	return a
}

// applyHeaderOperations maps headers.request/response set, add and remove. Pseudo-headers cannot be
// changed this way in Envoy and are skipped.
func applyHeaderOperations(r *routev3.Route, h *networking.Headers) {
	if h == nil {
		return
	}
	r.RequestHeadersToAdd = headerValues(h.GetRequest())
	r.RequestHeadersToRemove = removable(h.GetRequest().GetRemove())
	r.ResponseHeadersToAdd = headerValues(h.GetResponse())
	r.ResponseHeadersToRemove = removable(h.GetResponse().GetRemove())
}

func headerValues(ops *networking.Headers_HeaderOperations) []*corev3.HeaderValueOption {
	var out []*corev3.HeaderValueOption
	add := func(m map[string]string, action corev3.HeaderValueOption_HeaderAppendAction) {
		for _, k := range sortedKeys(m) {
			if !validHeaderName(k) {
				continue
			}
			out = append(out, &corev3.HeaderValueOption{
				Header:       &corev3.HeaderValue{Key: strings.ToLower(k), Value: m[k]},
				AppendAction: action,
			})
		}
	}
	add(ops.GetSet(), corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD)
	add(ops.GetAdd(), corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD)
	return out
}

func removable(names []string) []string {
	var out []string
	for _, n := range names {
		if validHeaderName(n) {
			out = append(out, strings.ToLower(n))
		}
	}
	return out
}

// validHeaderName accepts RFC 7230 token characters; pseudo-headers and empty names are rejected.
func validHeaderName(n string) bool {
	if n == "" || strings.HasPrefix(n, ":") {
		return false
	}
	for _, c := range n {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", c) {
			return false
		}
	}
	return true
}

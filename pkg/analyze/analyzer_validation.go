package analyze

import (
	"fmt"
	"net/netip"
	"strings"

	networking "istio.io/api/networking/v1alpha3"
	security "istio.io/api/security/v1beta1"
)

// validationAnalyzer applies the semantic rules of Istio's validation webhook that a schema cannot express
// (IST0106); field-level schema errors are found while decoding (schema.go).
func validationAnalyzer() Analyzer {
	return Analyzer{
		Name:        "schema.ValidationAnalyzer",
		Description: "Runs schema validation as an analyzer and reports any violations",
		Codes:       []MessageType{SchemaValidationError},
		Run: func(s *Snapshot, report func(Message)) {
			for _, r := range s.Resources() {
				v := validator{r: r, report: report}
				switch spec := r.Spec.(type) {
				case *networking.VirtualService:
					v.virtualService(spec)
				case *networking.DestinationRule:
					v.destinationRule(spec)
				case *networking.Gateway:
					v.gateway(spec)
				case *networking.ServiceEntry:
					v.serviceEntry(spec)
				case *networking.Sidecar:
					v.sidecar(spec)
				case *security.AuthorizationPolicy:
					v.authorizationPolicy(spec)
				case *security.PeerAuthentication:
					v.peerAuthentication(spec)
				case *security.RequestAuthentication:
					v.requestAuthentication(spec)
				}
			}
		},
	}
}

type validator struct {
	r      *Resource
	report func(Message)
}

func (v validator) fail(path []any, format string, args ...any) {
	v.report(newMessage(SchemaValidationError, v.r, v.r.Line(path...), pathString(path)+": "+fmt.Sprintf(format, args...)))
}

// pathString renders a field path as "spec.http[0].route".
func pathString(path []any) string {
	var b strings.Builder
	for _, p := range path {
		switch p := p.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", p)
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			fmt.Fprint(&b, p)
		}
	}
	return b.String()
}

func at(base []any, more ...any) []any { return append(append([]any{}, base...), more...) }

func (v validator) virtualService(vs *networking.VirtualService) {
	spec := []any{"spec"}
	if len(vs.GetHosts()) == 0 && len(vs.GetGateways()) > 0 {
		v.fail(at(spec, "gateways"), "a delegate VirtualService (one without hosts) must not set gateways")
	}
	mesh := len(vs.GetGateways()) == 0 || contains(vs.GetGateways(), "mesh")
	for i, h := range vs.GetHosts() {
		if h == "*" && mesh {
			v.fail(at(spec, "hosts", i), "wildcard host * is not allowed for VirtualServices bound to the mesh")
		}
		if h == "" {
			v.fail(at(spec, "hosts", i), "host must not be empty")
		}
	}
	if len(vs.GetHttp()) == 0 && len(vs.GetTcp()) == 0 && len(vs.GetTls()) == 0 {
		v.fail(spec, "at least one of http, tcp or tls must be set")
	}
	for i, h := range vs.GetHttp() {
		p := at(spec, "http", i)
		n := 0
		for _, set := range []bool{len(h.GetRoute()) > 0, h.GetRedirect() != nil, h.GetDirectResponse() != nil, h.GetDelegate() != nil} {
			if set {
				n++
			}
		}
		if n == 0 {
			v.fail(p, "an http rule needs route, redirect, directResponse or delegate")
		}
		if len(h.GetRoute()) > 0 && (h.GetRedirect() != nil || h.GetDirectResponse() != nil) {
			v.fail(p, "route cannot be combined with redirect or directResponse")
		}
		for j, d := range h.GetRoute() {
			v.destination(d.GetDestination(), at(p, "route", j, "destination"))
			if d.GetWeight() < 0 {
				v.fail(at(p, "route", j, "weight"), "weight %d must not be negative", d.GetWeight())
			}
		}
		for j, m := range h.GetMatch() {
			for _, f := range []struct {
				name string
				sm   *networking.StringMatch
			}{{"uri", m.GetUri()}, {"scheme", m.GetScheme()}, {"method", m.GetMethod()}, {"authority", m.GetAuthority()}} {
				if f.sm != nil && f.sm.GetMatchType() == nil {
					v.fail(at(p, "match", j, f.name), "set one of exact, prefix or regex")
				}
			}
		}
		if f := h.GetFault(); f != nil {
			if pct := f.GetDelay().GetPercentage().GetValue(); pct < 0 || pct > 100 {
				v.fail(at(p, "fault", "delay", "percentage"), "percentage %v must be between 0 and 100", pct)
			}
			if pct := f.GetAbort().GetPercentage().GetValue(); pct < 0 || pct > 100 {
				v.fail(at(p, "fault", "abort", "percentage"), "percentage %v must be between 0 and 100", pct)
			}
			if a := f.GetAbort(); a != nil && a.GetHttpStatus() != 0 && (a.GetHttpStatus() < 200 || a.GetHttpStatus() > 599) {
				v.fail(at(p, "fault", "abort", "httpStatus"), "HTTP status %d must be between 200 and 599", a.GetHttpStatus())
			}
		}
		if rt := h.GetRetries(); rt != nil && rt.GetAttempts() < 0 {
			v.fail(at(p, "retries", "attempts"), "attempts must not be negative")
		}
	}
	for i, t := range vs.GetTcp() {
		if len(t.GetRoute()) == 0 {
			v.fail(at(spec, "tcp", i), "a tcp rule needs at least one route")
		}
		for j, d := range t.GetRoute() {
			v.destination(d.GetDestination(), at(spec, "tcp", i, "route", j, "destination"))
		}
	}
	for i, t := range vs.GetTls() {
		if len(t.GetMatch()) == 0 {
			v.fail(at(spec, "tls", i), "a tls rule needs at least one match (sniHosts)")
		}
		for j, d := range t.GetRoute() {
			v.destination(d.GetDestination(), at(spec, "tls", i, "route", j, "destination"))
		}
	}
}

func (v validator) destination(d *networking.Destination, path []any) {
	if d == nil {
		v.fail(path, "destination is required")
		return
	}
	if d.GetHost() == "" {
		v.fail(path, "destination host is required")
	}
	if n := d.GetPort().GetNumber(); d.GetPort() != nil && (n == 0 || n > 65535) {
		v.fail(at(path, "port", "number"), "port number %d must be between 1 and 65535", n)
	}
}

func (v validator) destinationRule(dr *networking.DestinationRule) {
	if dr.GetHost() == "" {
		v.fail([]any{"spec", "host"}, "host is required")
	}
	names := map[string]bool{}
	for i, ss := range dr.GetSubsets() {
		p := []any{"spec", "subsets", i}
		switch {
		case ss.GetName() == "":
			v.fail(at(p, "name"), "subset name is required")
		case names[ss.GetName()]:
			v.fail(at(p, "name"), "duplicate subset name %q", ss.GetName())
		}
		names[ss.GetName()] = true
	}
}

func (v validator) gateway(gw *networking.Gateway) {
	if len(gw.GetServers()) == 0 {
		v.fail([]any{"spec"}, "a Gateway needs at least one server")
	}
	for i, srv := range gw.GetServers() {
		p := []any{"spec", "servers", i}
		port := srv.GetPort()
		if port == nil {
			v.fail(p, "server port is required")
			continue
		}
		if port.GetNumber() == 0 || port.GetNumber() > 65535 {
			v.fail(at(p, "port", "number"), "port number %d must be between 1 and 65535", port.GetNumber())
		}
		if port.GetProtocol() == "" {
			v.fail(at(p, "port", "protocol"), "protocol is required")
		}
		if len(srv.GetHosts()) == 0 {
			v.fail(at(p, "hosts"), "at least one host is required")
		}
		proto := strings.ToUpper(port.GetProtocol())
		tls := srv.GetTls()
		if proto == "HTTPS" && tls == nil {
			v.fail(at(p, "tls"), "an HTTPS server needs tls settings")
		}
		if tls != nil && (tls.GetMode() == networking.ServerTLSSettings_SIMPLE || tls.GetMode() == networking.ServerTLSSettings_MUTUAL) &&
			(proto == "HTTPS" || proto == "TLS") && tls.GetCredentialName() == "" && len(tls.GetCredentialNames()) == 0 &&
			len(tls.GetTlsCertificates()) == 0 && (tls.GetServerCertificate() == "" || tls.GetPrivateKey() == "") {
			v.fail(at(p, "tls"), "%s TLS needs credentialName, or serverCertificate and privateKey", tls.GetMode())
		}
	}
}

func (v validator) serviceEntry(se *networking.ServiceEntry) {
	if len(se.GetHosts()) == 0 {
		v.fail([]any{"spec", "hosts"}, "at least one host is required")
	}
	for i, h := range se.GetHosts() {
		if strings.HasPrefix(h, "*") && se.GetResolution() == networking.ServiceEntry_DNS {
			v.fail([]any{"spec", "hosts", i}, "wildcard host %q cannot use DNS resolution", h)
		}
	}
	for i, a := range se.GetAddresses() {
		if _, err := netip.ParsePrefix(a); err != nil {
			if _, err := netip.ParseAddr(a); err != nil {
				v.fail([]any{"spec", "addresses", i}, "%q is not an IP address or CIDR", a)
			}
		}
	}
	seen := map[uint32]bool{}
	for i, p := range se.GetPorts() {
		if p.GetNumber() == 0 || p.GetNumber() > 65535 {
			v.fail([]any{"spec", "ports", i, "number"}, "port number %d must be between 1 and 65535", p.GetNumber())
		}
		if seen[p.GetNumber()] {
			v.fail([]any{"spec", "ports", i, "number"}, "duplicate port number %d", p.GetNumber())
		}
		seen[p.GetNumber()] = true
		if p.GetName() == "" {
			v.fail([]any{"spec", "ports", i}, "port name is required")
		}
	}
}

func (v validator) sidecar(sc *networking.Sidecar) {
	if len(sc.GetEgress()) == 0 && len(sc.GetIngress()) == 0 && sc.GetOutboundTrafficPolicy() == nil && sc.GetInboundConnectionPool() == nil {
		v.fail([]any{"spec"}, "empty Sidecar: set egress, ingress or outboundTrafficPolicy")
	}
	for i, e := range sc.GetEgress() {
		if len(e.GetHosts()) == 0 {
			v.fail([]any{"spec", "egress", i, "hosts"}, "egress listener needs at least one host")
		}
		for j, h := range e.GetHosts() {
			if ns, host, ok := strings.Cut(h, "/"); !ok || ns == "" || host == "" {
				v.fail([]any{"spec", "egress", i, "hosts", j}, "host %q must be <namespace>/<dns name> (use */ or ./ for any or the same namespace)", h)
			}
		}
	}
}

func (v validator) authorizationPolicy(ap *security.AuthorizationPolicy) {
	if ap.GetAction() == security.AuthorizationPolicy_CUSTOM && ap.GetProvider() == nil {
		v.fail([]any{"spec", "action"}, "action CUSTOM needs a provider")
	}
	if ap.GetAction() != security.AuthorizationPolicy_CUSTOM && ap.GetProvider() != nil {
		v.fail([]any{"spec", "provider"}, "provider is only allowed with action CUSTOM")
	}
	for i, rule := range ap.GetRules() {
		for j, f := range rule.GetFrom() {
			if f.GetSource() == nil {
				v.fail([]any{"spec", "rules", i, "from", j}, "from needs a source")
			}
		}
		for j, t := range rule.GetTo() {
			if t.GetOperation() == nil {
				v.fail([]any{"spec", "rules", i, "to", j}, "to needs an operation")
			}
		}
		for j, c := range rule.GetWhen() {
			if c.GetKey() == "" {
				v.fail([]any{"spec", "rules", i, "when", j}, "condition key is required")
			}
			if len(c.GetValues()) == 0 && len(c.GetNotValues()) == 0 {
				v.fail([]any{"spec", "rules", i, "when", j}, "condition needs values or notValues")
			}
		}
	}
}

func (v validator) peerAuthentication(pa *security.PeerAuthentication) {
	if len(pa.GetPortLevelMtls()) > 0 && len(pa.GetSelector().GetMatchLabels()) == 0 {
		v.fail([]any{"spec", "portLevelMtls"}, "portLevelMtls requires a selector")
	}
	for port := range pa.GetPortLevelMtls() {
		if port == 0 {
			v.fail([]any{"spec", "portLevelMtls"}, "port must not be 0")
		}
	}
}

func (v validator) requestAuthentication(ra *security.RequestAuthentication) {
	for i, rule := range ra.GetJwtRules() {
		if rule.GetIssuer() == "" {
			v.fail([]any{"spec", "jwtRules", i}, "issuer is required")
		}
		if rule.GetJwks() != "" && rule.GetJwksUri() != "" {
			v.fail([]any{"spec", "jwtRules", i}, "set jwks or jwksUri, not both")
		}
	}
}

package analyze

import (
	"regexp"
	"strings"
)

// authorizationPolicyAnalyzer reports principals that cannot match a workload identity (SKF0004).
func authorizationPolicyAnalyzer() Analyzer {
	return Analyzer{
		Name:        "auth.PrincipalFormatAnalyzer",
		Description: "Checks that AuthorizationPolicy principals have the form <trust-domain>/ns/<namespace>/sa/<service-account>",
		Codes:       []MessageType{InvalidPrincipal},
		Run: func(s *Snapshot, report func(Message)) {
			for _, r := range s.Kind("AuthorizationPolicy") {
				ap := authorizationPolicy(r)
				for i, rule := range ap.GetRules() {
					for j, from := range rule.GetFrom() {
						src := from.GetSource()
						for k, p := range src.GetPrincipals() {
							if problem := principalProblem(p); problem != "" {
								report(newMessage(InvalidPrincipal, r, r.Line("spec", "rules", i, "from", j, "source", "principals", k), p, problem))
							}
						}
						for k, p := range src.GetNotPrincipals() {
							if problem := principalProblem(p); problem != "" {
								report(newMessage(InvalidPrincipal, r, r.Line("spec", "rules", i, "from", j, "source", "notPrincipals", k), p, problem))
							}
						}
					}
					for j, cond := range rule.GetWhen() {
						if cond.GetKey() != "source.principal" {
							continue
						}
						for _, p := range append(cond.GetValues(), cond.GetNotValues()...) {
							if problem := principalProblem(p); problem != "" {
								report(newMessage(InvalidPrincipal, r, r.Line("spec", "rules", i, "when", j), p, problem))
							}
						}
					}
				}
			}
		},
	}
}

// principalRE is a SPIFFE ID path without the scheme: <trust-domain>/ns/<namespace>/sa/<service-account>.
var principalRE = regexp.MustCompile(`^[^/*]+/ns/[^/*]+/sa/[^/*]+$`)

// principalProblem explains what is wrong with a principal, "" when it is well formed. Istio matches
// principals exactly, by prefix ("x*") or by suffix ("*x"), so only those wildcards are accepted.
func principalProblem(p string) string {
	switch {
	case p == "":
		return "is empty"
	case p == "*":
		return ""
	case strings.HasPrefix(p, "spiffe://"):
		return "must not start with spiffe://"
	case strings.Contains(strings.Trim(p, "*"), "*"):
		return "uses * in the middle (only a leading or trailing * is allowed)"
	case strings.HasPrefix(p, "*") || strings.HasSuffix(p, "*"):
		return ""
	case !principalRE.MatchString(p):
		return "is not a workload identity"
	}
	return ""
}

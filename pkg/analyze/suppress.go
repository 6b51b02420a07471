package analyze

import (
	"regexp"
	"strings"

	"skiff.dev/skiff/pkg/errs"
)

// SuppressAnnotation lists codes (comma-separated, or "*") not to report for the annotated object; Istio's name.
const SuppressAnnotation = "galley.istio.io/analyze-suppress"

// Suppression hides one code on the resources matching a pattern ("-S IST0102=Namespace *").
type Suppression struct {
	Code     string
	Resource string
	re       *regexp.Regexp
}

// ParseSuppression reads "<code>=<Kind> <resource>" where resource is "ns/name" (Skiff's form) or
// "name.ns" (istioctl's form), and '*' matches any run of characters.
func ParseSuppression(s string) (Suppression, error) {
	code, res, ok := strings.Cut(s, "=")
	code, res = strings.TrimSpace(code), strings.TrimSpace(res)
	if !ok || code == "" || res == "" {
		return Suppression{}, errs.Usage("suppression %q is not <code>=<Kind> <namespace>/<name> (e.g. \"IST0102=Namespace *\")", s)
	}
	parts := strings.Split(res, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	re := regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
	return Suppression{Code: code, Resource: res, re: re}, nil
}

func (s Suppression) matches(m Message) bool {
	if s.Code != m.Type.Code && s.Code != "*" {
		return false
	}
	k := m.Key
	if s.re.MatchString(k.String()) {
		return true
	}
	// istioctl names namespaced objects "Kind name.namespace".
	return k.Namespace != "" && s.re.MatchString(k.Kind+" "+k.Name+"."+k.Namespace)
}

// suppressed reports whether the flag suppressions or the object's annotation hide m.
func suppressed(m Message, sups []Suppression) bool {
	if v, ok := m.annotations[SuppressAnnotation]; ok {
		for _, c := range strings.Split(v, ",") {
			if c = strings.TrimSpace(c); c == m.Type.Code || c == "*" {
				return true
			}
		}
	}
	for _, s := range sups {
		if s.matches(m) {
			return true
		}
	}
	return false
}

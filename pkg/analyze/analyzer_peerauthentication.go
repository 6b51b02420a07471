package analyze

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// peerAuthenticationAnalyzer reports namespace-wide (selector-less) PeerAuthentications that lose to an
// older one in the same namespace (SKF0101). The rule and the text are the controller's
// (pkg/controller/configcheck.go): the oldest by creationTimestamp, then namespace/name, applies. Objects
// from files usually have no creationTimestamp, which makes the name decide, as it would for objects
// created in the same second.
func peerAuthenticationAnalyzer() Analyzer {
	return Analyzer{
		Name:        "peerauthentication.NamespaceWideAnalyzer",
		Description: "Checks that a namespace has at most one PeerAuthentication without selector",
		Codes:       []MessageType{MultiplePeerAuthenticationsWithoutSelector},
		Run: func(s *Snapshot, report func(Message)) {
			byNS := map[string][]*Resource{}
			for _, r := range s.Kind("PeerAuthentication") {
				if pa := peerAuthentication(r); pa != nil && pa.GetSelector() == nil {
					byNS[r.Key.Namespace] = append(byNS[r.Key.Namespace], r)
				}
			}
			for _, ns := range sortedKeys(byNS) {
				group := byNS[ns]
				if len(group) < 2 {
					continue
				}
				created := make(map[*Resource]time.Time, len(group))
				for _, r := range group {
					created[r] = r.creationTimestamp()
				}
				slices.SortStableFunc(group, func(a, b *Resource) int {
					return cmp.Or(created[a].Compare(created[b]), cmp.Compare(a.Key.Name, b.Key.Name))
				})
				names := strings.Join(resourceNames(group), ",")
				winner := group[0].Key.Namespace + "/" + group[0].Key.Name
				for _, loser := range group[1:] {
					report(newMessage(MultiplePeerAuthenticationsWithoutSelector, loser, loser.Line("spec"), names, ns, winner))
				}
			}
		},
	}
}

// creationTimestamp is metadata.creationTimestamp, zero when absent or unparsable.
func (r *Resource) creationTimestamp() time.Time {
	t, err := time.Parse(time.RFC3339, scalar(mappingValue(mappingValue(r.node, "metadata"), "creationTimestamp")))
	if err != nil {
		return time.Time{}
	}
	return t
}

package xds

import (
	"slices"
	"strings"

	discoverygrpc "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/types/known/anypb"
)

// deltaChange is what a delta proxy lacks: the resources to send and the names to remove. Streams in the
// same state share one; the messages are only read when sent.
type deltaChange struct {
	resources []*discoverygrpc.Resource
	removed   []string
}

type deltaKey struct {
	since      string // content version of the view the proxy has
	sinceScope subsKey
	scope      subsKey
}

// deltaSince is the change from view since, as the proxy had it within sinceScope, to this view within
// scope.
func (v *typeView) deltaSince(since *typeView, sinceScope, scope subsKey) *deltaChange {
	key := deltaKey{since.version, sinceScope, scope}
	v.mu.Lock()
	defer v.mu.Unlock()
	if d := v.deltas[key]; d != nil {
		return d
	}
	had := map[string]string{}
	for _, n := range since.selected(sinceScope) {
		had[n] = since.byName[n].version
	}
	d := v.delta(had, scope)
	v.deltas[key] = d
	return d
}

// deltaFrom is the change from what a proxy said it had when it connected.
func (v *typeView) deltaFrom(had map[string]string, scope subsKey) *deltaChange {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.delta(had, scope)
}

func (v *typeView) delta(had map[string]string, scope subsKey) *deltaChange {
	d := &deltaChange{}
	for _, n := range v.selected(scope) {
		e := v.byName[n]
		if version, ok := had[n]; !ok || version != e.version {
			d.resources = append(d.resources, &discoverygrpc.Resource{Name: n, Version: e.version,
				Resource: &anypb.Any{TypeUrl: v.url, Value: e.value}})
		}
	}
	// What the proxy has, still asks for, and the view no longer has, goes.
	asked := namesSet(scope)
	for n := range had {
		if _, exists := v.byName[n]; !exists && (scope.wildcard || asked[n]) {
			d.removed = append(d.removed, n)
		}
	}
	slices.Sort(d.removed)
	return d
}

// namesSet is the set of names of a non-wildcard key (empty for a wildcard one).
func namesSet(k subsKey) map[string]bool {
	set := map[string]bool{}
	if k.wildcard {
		return set
	}
	for n := range strings.SplitSeq(k.names.Value(), "\n") {
		if n != "" {
			set[n] = true
		}
	}
	return set
}

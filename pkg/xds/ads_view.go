package xds

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"sync"
	"unique"
)

// typeView is one xDS type's resources for one proxy class in one generation. It caches the responses
// its streams need, so replicas of a workload share them.
type typeView struct {
	url     string
	byName  map[string]*encodedResource
	names   []string // sorted
	version string   // hash over every (name, version)

	mu      sync.Mutex
	subsets map[subsKey]*encodedResponse
	changes map[changeKey]*encodedResponse
	deltas  map[deltaKey]*deltaChange
}

// subsKey names a subscription: every resource (wildcard) or an interned set of names.
type subsKey struct {
	wildcard bool
	names    unique.Handle[string] // sorted names joined by "\n"
}

// changeKey identifies a change by the content version of the view changed from, not the view itself:
// equal versions mean equal resources, and keeping older views alive through this cache would chain
// every generation to the next.
type changeKey struct {
	since string
	subs  subsKey
}

// encodedResponse is a DiscoveryResponse without its nonce: version_info, the resources (shared
// encodings) and type_url.
type encodedResponse struct {
	url       string
	version   string
	resources []*encodedResource
}

// newSortedTypeView builds a view of resources sorted by name, whose contentVersion is version.
func newSortedTypeView(url string, resources []*encodedResource, version string) *typeView {
	v := &typeView{url: url, byName: make(map[string]*encodedResource, len(resources)), names: make([]string, len(resources)),
		version: version, subsets: map[subsKey]*encodedResponse{}, changes: map[changeKey]*encodedResponse{},
		deltas: map[deltaKey]*deltaChange{}}
	for i, r := range resources {
		v.byName[r.name] = r
		v.names[i] = r.name
	}
	return v
}

// contentVersion is the hash over every (name, version) of resources sorted by name.
func contentVersion(resources []*encodedResource) string {
	h := sha256.New()
	for _, r := range resources {
		h.Write([]byte(r.name + "\x00" + r.version + "\x00"))
	}
	return shortHash(h.Sum(nil))
}

// newSubsKey interns a subscription's names, so streams asking for the same set share one key and one
// copy of the names. wildcard is an empty or "*" request of a type that allows it.
func newSubsKey(names []string, wildcard bool) subsKey {
	if wildcard {
		return subsKey{wildcard: true}
	}
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	return subsKey{names: unique.Make(strings.Join(slices.Compact(sorted), "\n"))}
}

// selected lists the names of k that exist in the view, sorted; wildcard selects all.
func (v *typeView) selected(k subsKey) []string {
	if k.wildcard {
		return v.names
	}
	var out []string
	joined := k.names.Value()
	for joined != "" {
		var n string
		n, joined, _ = strings.Cut(joined, "\n")
		if _, ok := v.byName[n]; ok {
			out = append(out, n)
		}
	}
	return out
}

// subset is the complete response for subscription k: what full-state types (listeners, clusters) send,
// and what any type sends to a new subscription. Its version covers only the selected resources.
func (v *typeView) subset(k subsKey) *encodedResponse {
	v.mu.Lock()
	defer v.mu.Unlock()
	if r := v.subsets[k]; r != nil {
		return r
	}
	r := v.encode(v.version, v.selected(k))
	if !k.wildcard {
		r.version = contentVersion(r.resources)
	}
	v.subsets[k] = r
	return r
}

// changedSince is the response carrying only the resources of subscription k that are new or different
// from view since: enough for types the protocol does not require in full (routes, endpoints, secrets).
// It has no resources when nothing changed.
func (v *typeView) changedSince(since *typeView, k subsKey) *encodedResponse {
	if since == nil {
		return v.subset(k)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	key := changeKey{since.version, k}
	if r := v.changes[key]; r != nil {
		return r
	}
	var names []string
	for _, n := range v.selected(k) {
		if old := since.byName[n]; old == nil || old.version != v.byName[n].version {
			names = append(names, n)
		}
	}
	r := v.encode(v.version, names)
	v.changes[key] = r
	return r
}

func (v *typeView) encode(version string, names []string) *encodedResponse {
	r := &encodedResponse{url: v.url, version: version, resources: make([]*encodedResource, len(names))}
	for i, n := range names {
		r.resources[i] = v.byName[n]
	}
	return r
}

func shortHash(sum []byte) string { return hex.EncodeToString(sum[:8]) }

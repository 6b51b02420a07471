package analyze

import (
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// clusterDomain is the DNS suffix of Kubernetes services, as in Istio's default mesh config.
const clusterDomain = "svc.cluster.local"

// Snapshot is the merged set of objects the analyzers read, with the indexes they need so that every
// analyzer stays linear in the number of objects.
type Snapshot struct {
	// MeshNamespace is the control plane's namespace, also Istio's root namespace for mesh-wide policies.
	MeshNamespace string
	// FromCluster is true when the cluster was read, so the set of namespaces is complete.
	FromCluster bool
	// SecretsKnown is true when the input includes Secrets (the cluster's were listed, or a file has one), so
	// a Secret that is not there is missing rather than merely not given.
	SecretsKnown bool

	all    []*Resource
	byKey  map[Key]*Resource
	byKind map[string][]*Resource
	// services maps a Service's FQDN (name.ns.svc.cluster.local) to it.
	services map[string]*Resource
	// workloads holds, per namespace, pods and workload controllers (their pod templates), and labelIndex
	// indexes them by "key=value" so selector matching does not scan every workload.
	workloads  map[string][]*Resource
	labelIndex map[string]map[string][]*Resource
	namespaces map[string]*Resource
	// seHosts and seWildcards index ServiceEntry hosts: exact names, and "*.suffix" patterns.
	seHosts     map[string]bool
	seWildcards []string
}

// mergeResources returns base overlaid with top: an object in top replaces base's object with the same key.
func mergeResources(base, top []*Resource) []*Resource {
	if len(base) == 0 {
		return top
	}
	seen := make(map[Key]int, len(base))
	out := make([]*Resource, 0, len(base)+len(top))
	for _, r := range base {
		seen[r.Key] = len(out)
		out = append(out, r)
	}
	for _, r := range top {
		if i, ok := seen[r.Key]; ok {
			out[i] = r
			continue
		}
		seen[r.Key] = len(out)
		out = append(out, r)
	}
	return out
}

// NewSnapshot indexes resources. Later duplicates of the same key replace earlier ones.
func NewSnapshot(resources []*Resource, meshNamespace string) *Snapshot {
	resources = dedupe(resources)
	s := &Snapshot{
		MeshNamespace: meshNamespace,
		all:           resources,
		byKey:         make(map[Key]*Resource, len(resources)),
		byKind:        map[string][]*Resource{},
		services:      map[string]*Resource{},
		workloads:     map[string][]*Resource{},
		labelIndex:    map[string]map[string][]*Resource{},
		namespaces:    map[string]*Resource{},
		seHosts:       map[string]bool{},
	}
	sort.SliceStable(s.all, func(i, j int) bool { return lessKey(s.all[i].Key, s.all[j].Key) })
	for _, r := range s.all {
		s.byKey[r.Key] = r
		s.byKind[r.Key.Kind] = append(s.byKind[r.Key.Kind], r)
		switch {
		case r.Key.Kind == "Service" && r.Key.Group == "":
			s.services[r.Key.Name+"."+r.Key.Namespace+"."+clusterDomain] = r
		case r.Key.Kind == "Namespace" && r.Key.Group == "":
			s.namespaces[r.Key.Name] = r
		case r.Key.Kind == "ServiceEntry":
			for _, h := range serviceEntryHosts(r) {
				if strings.HasPrefix(h, "*") {
					s.seWildcards = append(s.seWildcards, h)
				} else {
					s.seHosts[h] = true
				}
			}
		}
		if r.Template != nil {
			ns := r.Key.Namespace
			s.workloads[ns] = append(s.workloads[ns], r)
			idx := s.labelIndex[ns]
			if idx == nil {
				idx = map[string][]*Resource{}
				s.labelIndex[ns] = idx
			}
			for k, v := range r.Template.Labels {
				idx[k+"="+v] = append(idx[k+"="+v], r)
			}
		}
	}
	return s
}

func dedupe(rs []*Resource) []*Resource {
	idx := make(map[Key]int, len(rs))
	out := make([]*Resource, 0, len(rs))
	for _, r := range rs {
		if i, ok := idx[r.Key]; ok {
			out[i] = r
			continue
		}
		idx[r.Key] = len(out)
		out = append(out, r)
	}
	return out
}

func lessKey(a, b Key) bool {
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

// Resources returns all objects, sorted by kind, namespace and name.
func (s *Snapshot) Resources() []*Resource { return s.all }

// Kind returns the objects of one kind (Istio kinds of any version), sorted by namespace and name.
func (s *Snapshot) Kind(kind string) []*Resource { return s.byKind[kind] }

// Namespace returns the Namespace object, nil when it is not part of the snapshot.
func (s *Snapshot) Namespace(name string) *Resource { return s.namespaces[name] }

// WorkloadsMatching returns the workloads of ns whose pod labels include all of selector; an empty selector
// matches every workload. ns "" searches all namespaces.
func (s *Snapshot) WorkloadsMatching(ns string, selector map[string]string) []*Resource {
	if ns == "" {
		var out []*Resource
		for _, n := range s.sortedWorkloadNamespaces() {
			out = append(out, s.WorkloadsMatching(n, selector)...)
		}
		return out
	}
	if len(selector) == 0 {
		return s.workloads[ns]
	}
	// Start from the rarest label pair to keep the candidate list short.
	var candidates []*Resource
	first := true
	for k, v := range selector {
		c := s.labelIndex[ns][k+"="+v]
		if first || len(c) < len(candidates) {
			candidates, first = c, false
		}
	}
	var out []*Resource
	for _, w := range candidates {
		if labelsMatch(selector, w.Template.Labels) {
			out = append(out, w)
		}
	}
	return out
}

func (s *Snapshot) sortedWorkloadNamespaces() []string {
	out := make([]string, 0, len(s.workloads))
	for n := range s.workloads {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func labelsMatch(selector, labels map[string]string) bool {
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// FQDN resolves a host as Istio does: a short name is a Service in ns; "name.ns" and "name.ns.svc" are
// expanded when such a Service exists; anything else is taken as written.
func (s *Snapshot) FQDN(host, ns string) string {
	if host == "" || strings.HasPrefix(host, "*") {
		return host
	}
	if !strings.Contains(host, ".") {
		return host + "." + ns + "." + clusterDomain
	}
	parts := strings.Split(host, ".")
	if len(parts) == 2 || (len(parts) == 3 && parts[2] == "svc") {
		full := parts[0] + "." + parts[1] + "." + clusterDomain
		if _, ok := s.services[full]; ok {
			return full
		}
	}
	return host
}

// Service returns the Kubernetes Service with this FQDN.
func (s *Snapshot) Service(fqdn string) *Resource { return s.services[fqdn] }

// ServiceSpec returns the decoded Service, nil when it is not a decodable Service.
func ServiceSpec(r *Resource) *corev1.Service {
	if r == nil {
		return nil
	}
	svc, _ := r.Object.(*corev1.Service)
	return svc
}

// HostExists reports whether fqdn is a Service or a ServiceEntry host (wildcards included).
func (s *Snapshot) HostExists(fqdn string) bool {
	if _, ok := s.services[fqdn]; ok || s.seHosts[fqdn] {
		return true
	}
	for _, h := range s.seWildcards {
		if hostMatches(h, fqdn) {
			return true
		}
	}
	return false
}

// hostMatches reports whether pattern (possibly "*.example.com" or "*") covers host.
func hostMatches(pattern, host string) bool {
	if pattern == host || pattern == "*" {
		return true
	}
	if strings.HasPrefix(pattern, "*") {
		return strings.HasSuffix(host, pattern[1:])
	}
	return false
}

// hostsOverlap reports whether two host patterns can match a common host.
func hostsOverlap(a, b string) bool { return hostMatches(a, b) || hostMatches(b, a) }

// Package graph draws the mesh: services with their subsets, gateways, and the VirtualService routes
// between them with weights, matches and the mTLS clients will use, as Graphviz DOT, SVG or an HTML page.
// Every output is deterministic so it can be diffed and kept under version control.
package graph

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"skiff.dev/skiff/pkg/describe"
	"skiff.dev/skiff/pkg/model"
)

// NodeKind says what a node stands for; renderers draw each kind differently.
type NodeKind string

const (
	KindGateway NodeKind = "gateway"
	KindService NodeKind = "service"
	KindSubset  NodeKind = "subset"
	// KindExternal is a MESH_EXTERNAL ServiceEntry, or a destination host the mesh does not know (a typo).
	KindExternal NodeKind = "external"
	// KindMissing is a subset that routes name but no DestinationRule defines: requests to it fail.
	KindMissing NodeKind = "missing"
)

// TLS classes of an edge, which renderers map to colours and line styles.
const (
	TLSMutual    = "mTLS"
	TLSPlain     = "plaintext"
	TLSOrigin    = "TLS"
	TLSPartial   = "partial mTLS"
	TLSConflict  = "conflict"
	tlsUndefined = ""
)

// Node is a gateway, service or subset.
type Node struct {
	ID        string
	Kind      NodeKind
	Label     string
	Namespace string
	// Detail is the second line: a subset's labels, a service's inbound mTLS mode.
	Detail string
	// Parent is the service a subset belongs to.
	Parent string
}

// Edge is one route destination: From sends the matching requests, Weight percent of them, to To.
type Edge struct {
	From, To string
	Weight   int32
	Match    string
	// TLS is what the client sends (TLSMutual, ...); TLSConflict when the server will refuse it.
	TLS string
	// Via names the VirtualService and rule.
	Via string
}

// Label is the edge's caption: the weight when traffic is split, the match when there is one, and mTLS.
func (e Edge) Label() string {
	var parts []string
	if e.Weight < 100 {
		parts = append(parts, fmt.Sprintf("%d%%", e.Weight))
	}
	if e.Match != "" && e.Match != "all requests" && e.Match != "all connections" {
		parts = append(parts, e.Match)
	}
	if e.TLS != tlsUndefined {
		parts = append(parts, e.TLS)
	}
	return strings.Join(parts, " | ")
}

// Graph is the drawable mesh, nodes sorted by ID and edges by (From, To, Via).
type Graph struct {
	Nodes []Node
	Edges []Edge
}

// Node finds a node by ID.
func (g *Graph) Node(id string) (Node, bool) {
	i, ok := slices.BinarySearchFunc(g.Nodes, id, func(n Node, id string) int { return cmp.Compare(n.ID, id) })
	if !ok {
		return Node{}, false
	}
	return g.Nodes[i], true
}

// Build makes the graph: a node per service (and per subset of its DestinationRule), a node per gateway
// that VirtualServices bind to, and an edge per route destination.
func Build(m *model.Mesh, in model.Input) Graph {
	b := builder{m: m, nodes: map[string]Node{}, kube: map[string]*corev1.Service{}, podsByNS: map[string][]*corev1.Pod{}}
	for _, s := range in.Services {
		b.kube[model.KubeHostname(s.Name, s.Namespace, m.DomainSuffix())] = s
	}
	for _, p := range in.Pods {
		b.podsByNS[p.Namespace] = append(b.podsByNS[p.Namespace], p)
	}
	for _, s := range m.Services() {
		b.service(s)
	}
	for _, vs := range m.VirtualServices() {
		var sources []string
		if describe.AppliesToMesh(vs) {
			for _, h := range vs.Spec.GetHosts() {
				host := model.ResolveHost(h, vs.Namespace, m.DomainSuffix())
				if !strings.Contains(host, "*") {
					sources = append(sources, b.host(host))
				}
			}
		}
		for _, gw := range vs.Spec.GetGateways() {
			if gw == "mesh" {
				continue
			}
			ns, name, ok := strings.Cut(gw, "/")
			if !ok {
				ns, name = vs.Namespace, gw
			}
			id := "gateway:" + ns + "/" + name
			b.nodes[id] = Node{ID: id, Kind: KindGateway, Label: name, Namespace: ns, Detail: "gateway"}
			sources = append(sources, id)
		}
		for _, r := range describe.RoutesOf(m, vs) {
			to, tls := b.destination(r, vs.Namespace)
			for _, from := range sources {
				b.edges = append(b.edges, Edge{From: from, To: to, Weight: r.Weight, Match: r.Match, TLS: tls, Via: r.VirtualService + " " + r.Rule})
			}
		}
	}
	var g Graph
	for _, n := range b.nodes {
		g.Nodes = append(g.Nodes, n)
	}
	slices.SortFunc(g.Nodes, func(a, b Node) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortStableFunc(b.edges, func(x, y Edge) int {
		return cmp.Or(cmp.Compare(x.From, y.From), cmp.Compare(x.To, y.To), cmp.Compare(x.Via, y.Via))
	})
	g.Edges = slices.CompactFunc(b.edges, func(x, y Edge) bool { return x == y })
	return g
}

type builder struct {
	m     *model.Mesh
	nodes map[string]Node
	edges []Edge
	// kube indexes Kubernetes Services by hostname, podsByNS pods by namespace.
	kube     map[string]*corev1.Service
	podsByNS map[string][]*corev1.Pod
}

func serviceID(host string) string { return "service:" + host }

func subsetID(host, subset string) string { return "subset:" + host + "/" + subset }

func (b *builder) service(s *model.Service) {
	id := serviceID(s.Hostname)
	label := strings.TrimSuffix(s.Hostname, ".svc."+b.m.DomainSuffix())
	n := Node{ID: id, Kind: KindService, Label: label, Namespace: s.Namespace, Detail: b.inbound(s, nil)}
	if s.External {
		n.Kind, n.Detail = KindExternal, "outside the mesh"
	}
	b.nodes[id] = n
	dr := b.m.DestinationRuleFor(s.Hostname, s.Namespace)
	if dr == nil {
		return
	}
	for _, ss := range dr.Spec.GetSubsets() {
		sid := subsetID(s.Hostname, ss.GetName())
		b.nodes[sid] = Node{ID: sid, Kind: KindSubset, Label: ss.GetName(), Namespace: s.Namespace, Detail: describe.Labels(ss.GetLabels()), Parent: id}
	}
}

// host is the node of a hostname: its service, or an external node for a host the mesh does not know.
func (b *builder) host(host string) string {
	id := serviceID(host)
	if _, ok := b.nodes[id]; !ok {
		b.nodes[id] = Node{ID: id, Kind: KindExternal, Label: host, Detail: "unknown host"}
	}
	return id
}

// destination is the node a route destination lands on and what its clients send there.
func (b *builder) destination(r describe.Route, clientNamespace string) (string, string) {
	to := b.host(r.Host)
	svc := b.m.Service(r.Host)
	if svc == nil {
		return to, tlsUndefined
	}
	dr := b.m.DestinationRuleFor(r.Host, clientNamespace)
	var subsetLabels map[string]string
	if r.Subset != "" {
		ss := describe.Subset(dr, r.Subset)
		if ss == nil {
			id := subsetID(r.Host, r.Subset)
			b.nodes[id] = Node{ID: id, Kind: KindMissing, Label: r.Subset, Namespace: svc.Namespace, Detail: "undefined subset", Parent: to}
			return id, tlsUndefined
		}
		to, subsetLabels = subsetID(r.Host, r.Subset), ss.GetLabels()
	}
	pods := b.pods(svc, subsetLabels)
	injected := 0
	for _, p := range pods {
		if describe.HasSidecar(p) {
			injected++
		}
	}
	var port uint32
	if len(svc.Ports) > 0 {
		port = svc.Ports[0].Number
	}
	client := describe.ClientTLS(dr, r.Subset, port, injected, len(pods))
	if svc.External && strings.HasPrefix(client.Reason, "auto") {
		return to, tlsUndefined // outside the mesh the application's own protocol goes out as is
	}
	switch {
	case client.Mode == "mTLS":
		return to, TLSMutual
	case strings.HasPrefix(client.Mode, "mTLS"):
		return to, TLSPartial
	case strings.HasPrefix(client.Mode, "TLS"):
		return to, TLSOrigin
	}
	for _, p := range pods {
		if !describe.HasSidecar(p) {
			continue
		}
		for _, tp := range b.targetPorts(svc, p, port) {
			if b.m.InboundMTLS(p.Namespace, p.Labels, tp) == model.MTLSStrict {
				return to, TLSConflict
			}
		}
	}
	return to, TLSPlain
}

// kubeService is the Kubernetes Service behind a mesh service; nil for ServiceEntries.
func (b *builder) kubeService(svc *model.Service) *corev1.Service {
	return b.kube[svc.Hostname]
}

// targetPorts are the pod ports a service forwards to: of one service port, or of all when port is 0.
// PeerAuthentication's port-level settings name these.
func (b *builder) targetPorts(svc *model.Service, pod *corev1.Pod, port uint32) []uint32 {
	ks := b.kubeService(svc)
	if ks == nil {
		return []uint32{port}
	}
	var out []uint32
	for _, sp := range ks.Spec.Ports {
		if port == 0 || uint32(sp.Port) == port {
			out = append(out, describe.TargetPort(sp, pod))
		}
	}
	return out
}

// pods are the pods behind a service, narrowed to a subset's labels.
func (b *builder) pods(svc *model.Service, subsetLabels map[string]string) []*corev1.Pod {
	var sel map[string]string
	if ks := b.kubeService(svc); ks != nil {
		sel = ks.Spec.Selector
	}
	var out []*corev1.Pod
	for _, p := range b.podsByNS[svc.Namespace] {
		if model.SelectorMatches(sel, p.Labels) && describe.SubsetMatches(subsetLabels, p.Labels) {
			out = append(out, p)
		}
	}
	return out
}

// inbound is a service's inbound mTLS mode over its injected pods: one mode, or "mixed mTLS".
func (b *builder) inbound(s *model.Service, subsetLabels map[string]string) string {
	modes := map[string]bool{}
	for _, p := range b.pods(s, subsetLabels) {
		if describe.HasSidecar(p) {
			for _, tp := range b.targetPorts(s, p, 0) {
				modes[b.m.InboundMTLS(p.Namespace, p.Labels, tp).String()] = true
			}
		} else {
			modes["no sidecar"] = true
		}
	}
	switch len(modes) {
	case 0:
		return ""
	case 1:
		for m := range modes {
			if m == "no sidecar" {
				return m
			}
			return "inbound " + m
		}
	}
	return "mixed mTLS"
}

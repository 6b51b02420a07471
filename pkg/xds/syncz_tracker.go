package xds

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
)

// syncTracker follows, per stream and xDS type, what the server sent and what the proxy acknowledged or
// rejected, as the stream handlers report them. It has its own lock so reading the
// state never waits for a push computing snapshots.
type syncTracker struct {
	now func() time.Time

	mu      sync.Mutex
	streams map[streamKey]*streamSync
}

// streamKey tells streams apart even when SotW and delta streams are numbered separately (Server uses
// one counter; the key does not rely on it).
type streamKey struct {
	id    int64
	delta bool
}

type streamSync struct {
	node  *corev3.Node
	delta bool
	types map[string]*typeSync // by type URL
}

// typeSync is the detail reported, and whether the proxy's last answer was a NACK.
type typeSync struct {
	TypeSync
	nacked bool
}

func newSyncTracker(now func() time.Time) *syncTracker {
	return &syncTracker{now: now, streams: map[streamKey]*streamSync{}}
}

// stream returns the state of a stream, remembering its node: only the first request must carry it.
func (t *syncTracker) stream(id int64, node *corev3.Node, delta bool) *streamSync {
	key := streamKey{id, delta}
	s := t.streams[key]
	if s == nil {
		s = &streamSync{delta: delta, types: map[string]*typeSync{}}
		t.streams[key] = s
	}
	if node.GetId() != "" {
		s.node = node
	}
	return s
}

func (s *streamSync) typ(typeURL string) *typeSync {
	ts := s.types[typeURL]
	if ts == nil {
		protocol := "sotw"
		if s.delta {
			protocol = "delta"
		}
		ts = &typeSync{TypeSync: TypeSync{TypeURL: typeURL, Protocol: protocol}}
		s.types[typeURL] = ts
	}
	return ts
}

// request records an ACK or NACK; a request without a response nonce is a (re)subscription, not an answer.
// version is what a SotW proxy says it has applied; delta requests carry none. nack is the rejection, if any.
func (t *syncTracker) request(id int64, node *corev3.Node, delta bool, typeURL, version, nonce string, nack *string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stream(id, node, delta)
	if typeURL == "" {
		return
	}
	ts := s.typ(typeURL) // a subscription alone shows the proxy waits for the type
	if nonce == "" {
		return
	}
	now := t.now()
	if nack != nil {
		rejected := ""
		if nonce == ts.SentNonce {
			rejected = ts.SentVersion
		}
		ts.LastNack = &Nack{Version: rejected, Nonce: nonce, Error: *nack, At: now}
		ts.nacked = true
		return
	}
	if delta {
		version = ""
		if nonce == ts.SentNonce {
			version = ts.SentVersion
		}
	}
	ts.AckedVersion, ts.AckedNonce, ts.AckedAt = version, nonce, now
	ts.nacked = false
}

// response records what is about to be sent.
func (t *syncTracker) response(id int64, node *corev3.Node, delta bool, typeURL, version, nonce string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ts := t.stream(id, node, delta).typ(typeURL)
	ts.SentVersion, ts.SentNonce, ts.SentAt = version, nonce, t.now()
}

func (t *syncTracker) closed(id int64, delta bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.streams, streamKey{id, delta})
}

// syncz summarizes every node with an open stream. A node with several streams reports, per type, the
// stream that sent it last: that is the configuration it is using.
func (t *syncTracker) syncz() []ProxySync {
	t.mu.Lock()
	defer t.mu.Unlock()
	byNode := map[string]*ProxySync{}
	for _, s := range t.streams {
		if s.node.GetId() == "" {
			continue
		}
		p := byNode[s.node.GetId()]
		if p == nil {
			p = proxySyncFor(s.node)
			byNode[p.ID] = p
		}
		for _, ts := range s.types {
			name := shortType(ts.TypeURL)
			if old, ok := p.Types[name]; ok && old.SentAt.After(ts.SentAt) {
				continue
			}
			detail := ts.TypeSync
			if ts.LastNack != nil {
				n := *ts.LastNack
				detail.LastNack = &n
				if ts.nacked {
					detail.Error = n.Error
				}
			}
			detail.Status = detail.state(ts.nacked)
			p.Types[name] = detail
			p.Sync[name] = detail.Status
		}
	}
	out := make([]ProxySync, 0, len(byNode))
	for _, id := range slices.Sorted(maps.Keys(byNode)) {
		out = append(out, *byNode[id])
	}
	return out
}

// proxySyncFor reads what Istio's agents put in the node metadata, falling back to the node ID
// (type~ip~pod.namespace~domain) and the user agent.
func proxySyncFor(node *corev3.Node) *ProxySync {
	p := &ProxySync{ID: node.GetId(), Sync: map[string]SyncState{}, Types: map[string]TypeSync{}}
	for _, typ := range ReportedTypes() {
		p.Sync[typ] = NotSent
	}
	if parts := strings.Split(node.GetId(), "~"); len(parts) == 4 {
		p.Pod, p.Namespace, _ = strings.Cut(parts[2], ".")
	}
	fields := node.GetMetadata().GetFields()
	if v := fields["NAME"].GetStringValue(); v != "" {
		p.Pod = v
	}
	if v := fields["NAMESPACE"].GetStringValue(); v != "" {
		p.Namespace = v
	}
	p.Cluster = fields["CLUSTER_ID"].GetStringValue() // not node.cluster: that is Envoy's service cluster
	p.Version = fields["ISTIO_VERSION"].GetStringValue()
	if p.Version == "" && node.GetUserAgentVersion() != "" {
		p.Version = strings.TrimSpace(node.GetUserAgentName() + " " + node.GetUserAgentVersion())
	}
	return p
}

// nackOf is the rejection message of a request's error_detail; nil when the request is no NACK.
func nackOf(detail *rpcstatus.Status) *string {
	if detail == nil {
		return nil
	}
	msg := detail.GetMessage()
	return &msg
}

// Syncz is the sync state of every connected proxy; controller names the serving pod.
func (s *Server) Syncz(controller string) Syncz {
	doc := Syncz{Controller: controller, Proxies: s.sync.syncz()}
	for i := range doc.Proxies {
		doc.Proxies[i].Controller = controller
	}
	return doc
}

// SynczHandler serves Syncz as JSON: GET /debug/syncz.
func (s *Server) SynczHandler(controller string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(s.Syncz(controller))
	})
}

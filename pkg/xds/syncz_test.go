package xds

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoverygrpc "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/types/known/structpb"
)

// clock is a test time source that advances one second per reading, so "sent last" is well defined.
type clock struct{ t time.Time }

func (c *clock) now() time.Time {
	c.t = c.t.Add(time.Second)
	return c.t
}

const sidecarID = "sidecar~10.1.0.7~web-1.shop~shop.svc.cluster.local"

func newTestTracker() *syncTracker {
	return newSyncTracker((&clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}).now)
}

func onlyProxy(t *testing.T, tr *syncTracker) ProxySync {
	t.Helper()
	ps := tr.syncz()
	if len(ps) != 1 {
		t.Fatalf("got %d proxies, want 1: %+v", len(ps), ps)
	}
	return ps[0]
}

func wantState(t *testing.T, p ProxySync, typ string, want SyncState, wantErr string) {
	t.Helper()
	if p.Sync[typ] != want {
		t.Fatalf("%s is %q, want %q (%+v)", typ, p.Sync[typ], want, p.Types[typ])
	}
	if got := p.Types[typ].Error; got != wantErr {
		t.Fatalf("%s error is %q, want %q", typ, got, wantErr)
	}
}

func TestSyncStateSotW(t *testing.T) {
	tr := newTestTracker()
	node := &corev3.Node{Id: sidecarID}
	// The first request subscribes; nothing is sent yet.
	tr.onStreamRequest(1, &discoverygrpc.DiscoveryRequest{Node: node, TypeUrl: resource.ClusterType})
	p := onlyProxy(t, tr)
	for _, typ := range ReportedTypes() {
		wantState(t, p, typ, NotSent, "")
	}
	if !p.Waiting(CDS) || p.Waiting(LDS) {
		t.Fatalf("subscribed to CDS only, yet waiting for CDS %v, LDS %v", p.Waiting(CDS), p.Waiting(LDS))
	}

	send := func(typeURL, version, nonce string) {
		tr.onStreamResponse(1, &discoverygrpc.DiscoveryRequest{Node: node, TypeUrl: typeURL},
			&discoverygrpc.DiscoveryResponse{TypeUrl: typeURL, VersionInfo: version, Nonce: nonce})
	}
	// Only the first request carries the node: the later ones must still count for it.
	answer := func(typeURL, version, nonce, nack string) {
		req := &discoverygrpc.DiscoveryRequest{TypeUrl: typeURL, VersionInfo: version, ResponseNonce: nonce}
		if nack != "" {
			req.ErrorDetail = &rpcstatus.Status{Code: 3, Message: nack}
		}
		tr.onStreamRequest(1, req)
	}

	send(resource.ClusterType, "1", "1")
	wantState(t, onlyProxy(t, tr), CDS, Stale, "")
	answer(resource.ClusterType, "1", "1", "")
	wantState(t, onlyProxy(t, tr), CDS, Synced, "")

	// A push the proxy rejects: STALE with its reason, and the version it still runs.
	send(resource.ClusterType, "2", "2")
	answer(resource.ClusterType, "1", "2", "cluster outbound|80||a: invalid lb policy")
	p = onlyProxy(t, tr)
	wantState(t, p, CDS, Stale, "cluster outbound|80||a: invalid lb policy")
	if d := p.Types[CDS]; d.AckedVersion != "1" || d.SentVersion != "2" || d.LastNack.Version != "2" || d.Protocol != "sotw" {
		t.Fatalf("detail after NACK: %+v (nack %+v)", d, d.LastNack)
	}
	// A server that resends the rejected version: still STALE for the same reason until an answer.
	send(resource.ClusterType, "2", "2r")
	wantState(t, onlyProxy(t, tr), CDS, Stale, "cluster outbound|80||a: invalid lb policy")

	// The next push is accepted: SYNCED again, the NACK kept as history but no longer the state's reason.
	send(resource.ClusterType, "3", "3")
	answer(resource.ClusterType, "3", "3", "")
	p = onlyProxy(t, tr)
	wantState(t, p, CDS, Synced, "")
	if d := p.Types[CDS]; d.AckedVersion != "3" || d.LastNack == nil || d.LastNack.Nonce != "2" {
		t.Fatalf("detail after recovery: %+v", d)
	}

	// An ACK of an older nonce after a newer response does not make it SYNCED.
	send(resource.ListenerType, "3", "4")
	send(resource.ListenerType, "4", "5")
	answer(resource.ListenerType, "3", "4", "")
	wantState(t, onlyProxy(t, tr), LDS, Stale, "")
	wantState(t, onlyProxy(t, tr), RDS, NotSent, "")

	tr.closed(1, false)
	if ps := tr.syncz(); len(ps) != 0 {
		t.Fatalf("closed stream still reported: %+v", ps)
	}
}

func TestSyncStateDelta(t *testing.T) {
	tr := newTestTracker()
	node := &corev3.Node{Id: sidecarID}
	tr.onDeltaRequest(7, &discoverygrpc.DeltaDiscoveryRequest{Node: node, TypeUrl: resource.EndpointType})
	send := func(version, nonce string) {
		tr.onDeltaResponse(7, &discoverygrpc.DeltaDiscoveryRequest{TypeUrl: resource.EndpointType},
			&discoverygrpc.DeltaDiscoveryResponse{TypeUrl: resource.EndpointType, SystemVersionInfo: version, Nonce: nonce})
	}
	send("5", "1")
	wantState(t, onlyProxy(t, tr), EDS, Stale, "")
	tr.onDeltaRequest(7, &discoverygrpc.DeltaDiscoveryRequest{TypeUrl: resource.EndpointType, ResponseNonce: "1"})
	p := onlyProxy(t, tr)
	wantState(t, p, EDS, Synced, "")
	if d := p.Types[EDS]; d.AckedVersion != "5" || d.Protocol != "delta" {
		t.Fatalf("delta ACK detail: %+v", d)
	}
	send("6", "2")
	tr.onDeltaRequest(7, &discoverygrpc.DeltaDiscoveryRequest{TypeUrl: resource.EndpointType, ResponseNonce: "2",
		ErrorDetail: &rpcstatus.Status{Message: "endpoint has no address"}})
	wantState(t, onlyProxy(t, tr), EDS, Stale, "endpoint has no address")
	wantState(t, onlyProxy(t, tr), CDS, NotSent, "")

	// A SotW stream with the same number is another stream: closing it leaves the delta one.
	tr.onStreamRequest(7, &discoverygrpc.DiscoveryRequest{Node: &corev3.Node{Id: "other"}, TypeUrl: resource.ClusterType})
	tr.closed(7, false)
	wantState(t, onlyProxy(t, tr), EDS, Stale, "endpoint has no address")
}

// A node with two streams reports, per type, the stream that sent it last.
func TestSyncStateSeveralStreams(t *testing.T) {
	tr := newTestTracker()
	node := &corev3.Node{Id: sidecarID}
	for _, id := range []int64{1, 2} {
		tr.onStreamRequest(id, &discoverygrpc.DiscoveryRequest{Node: node, TypeUrl: resource.ClusterType})
	}
	tr.onStreamResponse(1, &discoverygrpc.DiscoveryRequest{Node: node}, &discoverygrpc.DiscoveryResponse{TypeUrl: resource.ClusterType, VersionInfo: "1", Nonce: "a"})
	tr.onStreamRequest(1, &discoverygrpc.DiscoveryRequest{TypeUrl: resource.ClusterType, VersionInfo: "1", ResponseNonce: "a"})
	tr.onStreamResponse(2, &discoverygrpc.DiscoveryRequest{Node: node}, &discoverygrpc.DiscoveryResponse{TypeUrl: resource.ClusterType, VersionInfo: "2", Nonce: "b"})
	wantState(t, onlyProxy(t, tr), CDS, Stale, "")
	tr.closed(2, false)
	wantState(t, onlyProxy(t, tr), CDS, Synced, "")
}

func TestProxyMetadata(t *testing.T) {
	meta, err := structpb.NewStruct(map[string]any{"CLUSTER_ID": "east", "NAME": "web-1-abc", "NAMESPACE": "shop", "ISTIO_VERSION": "1.24.0"})
	if err != nil {
		t.Fatal(err)
	}
	p := proxySyncFor(&corev3.Node{Id: sidecarID, Metadata: meta})
	if p.Cluster != "east" || p.Pod != "web-1-abc" || p.Namespace != "shop" || p.Version != "1.24.0" {
		t.Fatalf("from metadata: %+v", p)
	}
	p = proxySyncFor(&corev3.Node{Id: sidecarID, Cluster: "web.shop", UserAgentName: "gRPC Go", UserAgentVersionType: &corev3.Node_UserAgentVersion{UserAgentVersion: "1.85.0"}})
	if p.Cluster != "" || p.Pod != "web-1" || p.Namespace != "shop" || p.Version != "gRPC Go 1.85.0" {
		t.Fatalf("from the node ID and user agent: %+v", p)
	}
}

func TestParseSyncz(t *testing.T) {
	tr := newTestTracker()
	node := &corev3.Node{Id: sidecarID}
	tr.onStreamRequest(1, &discoverygrpc.DiscoveryRequest{Node: node, TypeUrl: resource.ListenerType})
	tr.onStreamResponse(1, &discoverygrpc.DiscoveryRequest{Node: node}, &discoverygrpc.DiscoveryResponse{TypeUrl: resource.ListenerType, VersionInfo: "1", Nonce: "1"})
	body, err := json.Marshal(Syncz{Controller: "istiod-1", Proxies: tr.syncz()})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ParseSyncz(body)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Controller != "istiod-1" || len(doc.Proxies) != 1 || doc.Proxies[0].Sync[LDS] != Stale || doc.Proxies[0].Sync[CDS] != NotSent ||
		doc.Proxies[0].Types[LDS].SentNonce != "1" {
		t.Fatalf("round trip: %s -> %+v", body, doc)
	}
	// Types a document leaves out read as NOT SENT.
	doc, err = ParseSyncz([]byte(`{"proxies":[{"id":"a","sync":{"CDS":"SYNCED"}}]}`))
	if err != nil || doc.Proxies[0].Sync[RDS] != NotSent || doc.Proxies[0].Sync[CDS] != Synced {
		t.Fatalf("got %+v, %v", doc, err)
	}
	for bad, want := range map[string]string{
		`not json`:                  "not the JSON document expected",
		`{"proxies":["a"]}`:         "not the JSON document expected",
		`{"proxies":[{"sync":{}}]}`: "proxy 1 has no id",
		`{"proxies":[{"id":"a","sync":{"CDS":"DONE"}}]}`: `proxy a: unknown sync state "DONE" for CDS`,
	} {
		if _, err := ParseSyncz([]byte(bad)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSyncz(%s) = %v, want %q", bad, err, want)
		}
	}
}

// BenchmarkSyncTracker measures what tracking adds to every response and its ACK on a server with 1000
// open streams, and one /debug/syncz read.
func BenchmarkSyncTracker(b *testing.B) {
	tr := newSyncTracker(time.Now)
	const streams = 1000
	for id := range int64(streams) {
		tr.onStreamRequest(id, &discoverygrpc.DiscoveryRequest{Node: &corev3.Node{Id: sidecarID + strconv.FormatInt(id, 10)}, TypeUrl: resource.ClusterType})
	}
	b.Run("response+ack", func(b *testing.B) {
		resp := &discoverygrpc.DiscoveryResponse{TypeUrl: resource.ClusterType, VersionInfo: "1", Nonce: "1"}
		ack := &discoverygrpc.DiscoveryRequest{TypeUrl: resource.ClusterType, VersionInfo: "1", ResponseNonce: "1"}
		var id int64
		for b.Loop() {
			tr.onStreamResponse(id, ack, resp)
			tr.onStreamRequest(id, ack)
			id = (id + 1) % streams
		}
	})
	b.Run("syncz", func(b *testing.B) {
		for b.Loop() {
			if len(tr.syncz()) != streams {
				b.Fatal("proxies missing")
			}
		}
	})
}

// FuzzParseSyncz: any input is either rejected or gives proxies that have an id and a known state for
// every reported type, which is what proxy-status and check index without looking.
func FuzzParseSyncz(f *testing.F) {
	f.Add([]byte(`{"controller":"istiod-1","proxies":[{"id":"a","sync":{"CDS":"SYNCED","LDS":"STALE"},"types":{"LDS":{"error":"x","lastNack":{"nonce":"1","error":"x"}}}}]}`))
	f.Add([]byte(`{"proxies":[{"id":"b","sync":{"SDS":"NOT SENT"}}]}`))
	f.Add([]byte(`{"proxies":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		doc, err := ParseSyncz(body)
		if err != nil {
			return
		}
		for _, p := range doc.Proxies {
			if p.ID == "" {
				t.Fatalf("accepted a proxy without id: %s", body)
			}
			for _, typ := range ReportedTypes() {
				if s := p.Sync[typ]; s != Synced && s != Stale && s != NotSent {
					t.Fatalf("%s has state %q in %s", typ, s, body)
				}
			}
			for typ := range p.Types {
				_ = p.Waiting(typ)
			}
		}
	})
}

package xds_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	skiffxds "skiff.dev/skiff/pkg/xds"
)

// TestSynczGRPCClientSynced: a real grpc-go xDS client that made an RPC has acknowledged all four types,
// and /debug/syncz, read over HTTP and parsed as its readers do, says so.
func TestSynczGRPCClientSynced(t *testing.T) {
	e := startEnv(t, []*backend{startBackend(t, "reviews-v1", "v1"), startBackend(t, "reviews-v2", "v2")})
	e.waitReady()
	web := httptest.NewServer(e.server.SynczHandler("istiod-test"))
	defer web.Close()

	p := waitProxy(t, func() (*skiffxds.Syncz, error) { return getSyncz(web.URL) }, "client-", func(p skiffxds.ProxySync) bool {
		for _, typ := range skiffxds.ReportedTypes() {
			if p.Sync[typ] != skiffxds.Synced {
				return false
			}
		}
		return true
	})
	if p.Namespace != "default" || !strings.HasPrefix(p.Version, "gRPC Go") || p.Types[skiffxds.CDS].Protocol != "sotw" {
		t.Fatalf("proxy metadata: %+v", p)
	}
}

// TestSynczRawADSStaleAndNack: a SotW client that never acknowledges is STALE; once it rejects the
// response it is STALE with its reason; an ACK makes it SYNCED. A delta client is tracked the same way.
func TestSynczRawADSStaleAndNack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv := skiffxds.NewServer(ctx, meshOf([]*backend{{name: "reviews-v1", version: "v1", port: 7001}}, nil, subsetsRule()), quietLogger{})
	conn := serveADS(t, srv)
	ads := discoveryv3.NewAggregatedDiscoveryServiceClient(conn)
	syncz := func() (*skiffxds.Syncz, error) { doc := srv.Syncz(""); return &doc, nil }

	stream, err := ads.StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const sotwID = "sidecar~10.1.0.10~productpage-v1.default~default.svc.cluster.local"
	if err := stream.Send(&discoveryv3.DiscoveryRequest{Node: &corev3.Node{Id: sotwID}, TypeUrl: resource.ClusterType}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	p := waitProxy(t, syncz, sotwID, func(p skiffxds.ProxySync) bool { return p.Sync[skiffxds.CDS] == skiffxds.Stale })
	if p.Sync[skiffxds.LDS] != skiffxds.NotSent || p.Types[skiffxds.CDS].SentNonce != resp.GetNonce() || p.Types[skiffxds.CDS].Error != "" {
		t.Fatalf("unacknowledged: %+v", p)
	}

	if err := stream.Send(&discoveryv3.DiscoveryRequest{TypeUrl: resource.ClusterType, ResponseNonce: resp.GetNonce(),
		ErrorDetail: &rpcstatus.Status{Code: 3, Message: "rejected: unknown cluster type"}}); err != nil {
		t.Fatal(err)
	}
	waitProxy(t, syncz, sotwID, func(p skiffxds.ProxySync) bool {
		return p.Sync[skiffxds.CDS] == skiffxds.Stale && p.Types[skiffxds.CDS].Error == "rejected: unknown cluster type"
	})

	// A NACK is not answered (the same content would be rejected again): the next change is.
	if err := srv.Push(ctx, meshOf([]*backend{{name: "reviews-v1", version: "v1", port: 7001}}, nil, nil)); err != nil {
		t.Fatal(err)
	}
	if resp, err = stream.Recv(); err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&discoveryv3.DiscoveryRequest{TypeUrl: resource.ClusterType, VersionInfo: resp.GetVersionInfo(), ResponseNonce: resp.GetNonce()}); err != nil {
		t.Fatal(err)
	}
	p = waitProxy(t, syncz, sotwID, func(p skiffxds.ProxySync) bool { return p.Sync[skiffxds.CDS] == skiffxds.Synced })
	if d := p.Types[skiffxds.CDS]; d.AckedVersion != resp.GetVersionInfo() || d.LastNack == nil {
		t.Fatalf("after the ACK: %+v", d)
	}

	delta, err := ads.DeltaAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const deltaID = "sidecar~10.1.0.11~ratings-v1.default~default.svc.cluster.local"
	if err := delta.Send(&discoveryv3.DeltaDiscoveryRequest{Node: &corev3.Node{Id: deltaID}, TypeUrl: resource.ClusterType}); err != nil {
		t.Fatal(err)
	}
	dresp, err := delta.Recv()
	if err != nil {
		t.Fatal(err)
	}
	waitProxy(t, syncz, deltaID, func(p skiffxds.ProxySync) bool { return p.Sync[skiffxds.CDS] == skiffxds.Stale })
	if err := delta.Send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: resource.ClusterType, ResponseNonce: dresp.GetNonce()}); err != nil {
		t.Fatal(err)
	}
	p = waitProxy(t, syncz, deltaID, func(p skiffxds.ProxySync) bool { return p.Sync[skiffxds.CDS] == skiffxds.Synced })
	if d := p.Types[skiffxds.CDS]; d.Protocol != "delta" || d.AckedVersion == "" {
		t.Fatalf("delta detail: %+v", d)
	}

	// A closed stream's proxy leaves the report.
	_ = stream.CloseSend()
	if _, err := stream.Recv(); err == nil {
		t.Fatal("stream still open after CloseSend")
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		doc := srv.Syncz("")
		if len(doc.Proxies) == 1 && doc.Proxies[0].ID == deltaID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after closing the SotW stream: %+v", doc.Proxies)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func serveADS(t *testing.T, srv *skiffxds.Server) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer(skiffxds.GRPCServerOptions()...)
	srv.Register(g)
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func getSyncz(url string) (*skiffxds.Syncz, error) {
	resp, err := http.Get(url + skiffxds.SynczPath)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return skiffxds.ParseSyncz(body)
}

// waitProxy polls until the proxy whose ID contains id satisfies ok, and returns it.
func waitProxy(t *testing.T, get func() (*skiffxds.Syncz, error), id string, ok func(skiffxds.ProxySync) bool) skiffxds.ProxySync {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var last *skiffxds.Syncz
	for {
		doc, err := get()
		if err != nil {
			t.Fatal(err)
		}
		last = doc
		for _, p := range doc.Proxies {
			if strings.Contains(p.ID, id) && ok(p) {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("proxy %s never reached the expected state; last syncz: %+v", id, last.Proxies)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

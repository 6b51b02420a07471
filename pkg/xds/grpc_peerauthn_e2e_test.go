package xds_test

import (
	"context"
	"net"
	"testing"
	"time"

	securityapi "istio.io/api/security/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	xdscreds "google.golang.org/grpc/credentials/xds"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/xds"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"skiff.dev/skiff/pkg/model"
)

// TestGRPCPeerAuthentication drives a proxyless gRPC *server* (xds.GRPCServer) from the control plane:
// with PeerAuthentication STRICT its server listener demands a mesh client certificate, so a plaintext
// client is refused while an ISTIO_MUTUAL client gets through; switching the policy to PERMISSIVE lets
// the plaintext client in.
func TestGRPCPeerAuthentication(t *testing.T) {
	w := newMeshWorkloads(t)
	withPolicy := func(mode securityapi.PeerAuthentication_MutualTLS_Mode, clientTLS bool) *model.Mesh {
		in := mtlsInput(w.port, "reviews")
		if !clientTLS {
			in.DestinationRules = nil
		}
		in.PeerAuthentications = []*securityv1.PeerAuthentication{{
			ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "default"},
			Spec:       securityapi.PeerAuthentication{Mtls: &securityapi.PeerAuthentication_MutualTLS{Mode: mode}},
		}}
		return model.Build(in)
	}

	// One control plane for the server and the mTLS client, another whose mesh has no client TLS.
	cp, cpAddr := startControlPlane(t, withPolicy(securityapi.PeerAuthentication_MutualTLS_STRICT, true))
	_, plainAddr := startControlPlane(t, withPolicy(securityapi.PeerAuthentication_MutualTLS_STRICT, false))
	startXDSServer(t, w.lis, grpcBootstrap(cpAddr, w.reviews, "reviews"))

	mtlsCall := xdsCredsClient(t, cpAddr, w.productpage, "productpage")
	got := eventuallyOK(t, "mTLS client reaches the STRICT server", mtlsCall)
	if got != "spiffe://cluster.local/ns/default/sa/productpage" {
		t.Fatalf("server saw client identity %q", got)
	}
	plainCall := xdsCredsClient(t, plainAddr, w.productpage, "productpage")
	for range 3 {
		if id, err := plainCall(); err == nil {
			t.Fatalf("plaintext client got through a STRICT server (as %q)", id)
		}
	}

	if err := cp.Push(context.Background(), withPolicy(securityapi.PeerAuthentication_MutualTLS_PERMISSIVE, true)); err != nil {
		t.Fatal(err)
	}
	if got := eventuallyOK(t, "plaintext client reaches the server after PERMISSIVE", plainCall); got != "plaintext" {
		t.Fatalf("plaintext client: server saw %q", got)
	}
}

func eventuallyOK(t *testing.T, what string, call func() (string, error)) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got, err := call()
		if err == nil {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startXDSServer serves Version/Get from an xDS-managed gRPC server, answering with the client's SPIFFE
// ID, or "plaintext" when the connection has no TLS.
func startXDSServer(t *testing.T, lis net.Listener, bootstrap []byte) {
	t.Helper()
	creds, err := xdscreds.NewServerCredentials(xdscreds.ServerOptions{FallbackCreds: insecure.NewCredentials()})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := xds.NewGRPCServer(grpc.Creds(creds), xds.BootstrapContentsForTesting(bootstrap))
	if err != nil {
		t.Fatal(err)
	}
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "skiff.test.Version",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Get", Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			if err := dec(&wrapperspb.StringValue{}); err != nil {
				return nil, err
			}
			p, _ := peer.FromContext(ctx)
			info, ok := p.AuthInfo.(credentials.TLSInfo)
			if !ok || len(info.State.PeerCertificates) == 0 {
				return wrapperspb.String("plaintext"), nil
			}
			return wrapperspb.String(info.State.PeerCertificates[0].URIs[0].String()), nil
		}}},
	}, struct{}{})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
}

package xds_test

import (
	"context"
	"net"
	"testing"
	"time"

	securityapi "istio.io/api/security/v1beta1"
	typeapi "istio.io/api/type/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	xdscreds "google.golang.org/grpc/credentials/xds"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/xds"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"skiff.dev/skiff/pkg/ca"
	"skiff.dev/skiff/pkg/model"
)

const (
	getRPC    = "/skiff.test.Version/Get"
	deleteRPC = "/skiff.test.Version/Delete"
)

// TestGRPCAuthorizationPolicy drives the RBAC filters of an xDS-managed gRPC server (reviews, STRICT mTLS)
// with AuthorizationPolicy: a DENY policy on one method path refuses that method with PermissionDenied
// while the other succeeds; adding an ALLOW policy for productpage's identity keeps productpage in and
// shuts out ratings, and the DENY policy still applies to productpage. Then an ALLOW on the namespace
// minus ratings' principal, and a DENY on a request header prefix.
func TestGRPCAuthorizationPolicy(t *testing.T) {
	w := newMeshWorkloads(t)

	denyDelete := authz("deny-delete", securityapi.AuthorizationPolicy_DENY, &securityapi.Rule{
		To: []*securityapi.Rule_To{{Operation: &securityapi.Operation{Paths: []string{deleteRPC}}}},
	})
	allowProductpage := authz("allow-productpage", securityapi.AuthorizationPolicy_ALLOW, &securityapi.Rule{
		From: []*securityapi.Rule_From{{Source: &securityapi.Source{Principals: []string{"cluster.local/ns/default/sa/productpage"}}}},
	})
	cp, cpAddr := startControlPlane(t, authzMesh(w.port, denyDelete))
	startTwoMethodServer(t, w.lis, grpcBootstrap(cpAddr, w.reviews, "reviews"))
	productpage := methodClient(t, cpAddr, w.productpage, "productpage")
	ratings := methodClient(t, cpAddr, w.ratings, "ratings")

	eventuallyOK(t, "productpage calls Get", func() (string, error) { return "", productpage(getRPC) })
	wantCode(t, "productpage Delete under the DENY policy", productpage(deleteRPC), codes.PermissionDenied)
	wantCode(t, "ratings Get without an ALLOW policy", ratings(getRPC), codes.OK)

	if err := cp.Push(context.Background(), authzMesh(w.port, denyDelete, allowProductpage)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for err := ratings(getRPC); status.Code(err) != codes.PermissionDenied; err = ratings(getRPC) {
		if time.Now().After(deadline) {
			t.Fatalf("ratings was never denied after the ALLOW policy for productpage: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	wantCode(t, "productpage Get under its ALLOW policy", productpage(getRPC), codes.OK)
	wantCode(t, "productpage Delete: DENY wins over ALLOW", productpage(deleteRPC), codes.PermissionDenied)

	// Namespaces, notPrincipals, hosts and a request header condition: anyone in default but ratings
	// calling reviews, and nobody claiming to be mallory.
	allowNamespace := authz("allow-default-but-ratings", securityapi.AuthorizationPolicy_ALLOW, &securityapi.Rule{
		From: []*securityapi.Rule_From{{Source: &securityapi.Source{Namespaces: []string{"default"}, NotPrincipals: []string{"cluster.local/ns/default/sa/ratings"}}}},
		// The authority is reviews.default.svc.cluster.local:9080: the host matches without the port.
		To: []*securityapi.Rule_To{{Operation: &securityapi.Operation{Hosts: []string{"Reviews.default.svc.cluster.local"}}}},
	})
	denyMallory := authz("deny-mallory", securityapi.AuthorizationPolicy_DENY, &securityapi.Rule{
		When: []*securityapi.Condition{{Key: "request.headers[x-user]", Values: []string{"mallory*"}}},
	})
	if err := cp.Push(context.Background(), authzMesh(w.port, denyMallory, allowNamespace)); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(15 * time.Second)
	for err := productpage(deleteRPC); err != nil; err = productpage(deleteRPC) {
		if time.Now().After(deadline) {
			t.Fatalf("productpage Delete never allowed after the DENY on Delete went away: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	wantCode(t, "ratings Get, excluded by notPrincipals", ratings(getRPC), codes.PermissionDenied)
	wantCode(t, "productpage Get as mallory-2", productpage(getRPC, "x-user", "mallory-2"), codes.PermissionDenied)
	wantCode(t, "productpage Get as alice", productpage(getRPC, "x-user", "alice"), codes.OK)
}

func wantCode(t *testing.T, what string, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("%s: got %v (%v), want %v", what, got, err, want)
	}
}

// authz is a policy on the reviews workload.
func authz(name string, action securityapi.AuthorizationPolicy_Action, rules ...*securityapi.Rule) *securityv1.AuthorizationPolicy {
	return &securityv1.AuthorizationPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: securityapi.AuthorizationPolicy{
			Selector: &typeapi.WorkloadSelector{MatchLabels: map[string]string{"app": "reviews"}},
			Action:   action,
			Rules:    rules,
		},
	}
}

// meshWorkloads holds certificate directories (as the agent writes them) for reviews, productpage and
// ratings in default, issued by one fresh mesh CA, and a free listener for the reviews server.
type meshWorkloads struct {
	lis                           net.Listener
	port                          int
	reviews, productpage, ratings string
}

func newMeshWorkloads(t *testing.T) meshWorkloads {
	t.Helper()
	authority, err := ca.NewSelfSigned("cluster.local", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certs := func(sa string) string {
		return writeWorkloadCerts(t, authority, ca.Identity{Namespace: "default", ServiceAccount: sa})
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return meshWorkloads{lis: lis, port: lis.Addr().(*net.TCPAddr).Port,
		reviews: certs("reviews"), productpage: certs("productpage"), ratings: certs("ratings")}
}

// authzMesh is reviews on 127.0.0.1:port with ISTIO_MUTUAL clients, STRICT mTLS so the server sees
// the clients' identities, and the given policies.
func authzMesh(port int, policies ...*securityv1.AuthorizationPolicy) *model.Mesh {
	return model.Build(authzInput(port, policies...))
}

func authzInput(port int, policies ...*securityv1.AuthorizationPolicy) model.Input {
	in := mtlsInput(port, "reviews")
	in.PeerAuthentications = []*securityv1.PeerAuthentication{{
		ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "default"},
		Spec:       securityapi.PeerAuthentication{Mtls: &securityapi.PeerAuthentication_MutualTLS{Mode: securityapi.PeerAuthentication_MutualTLS_STRICT}},
	}}
	in.AuthorizationPolicies = policies
	return in
}

// startTwoMethodServer serves Version/Get and Version/Delete from an xDS-managed gRPC server.
func startTwoMethodServer(t *testing.T, lis net.Listener, bootstrap []byte) {
	t.Helper()
	creds, err := xdscreds.NewServerCredentials(xdscreds.ServerOptions{FallbackCreds: insecure.NewCredentials()})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := xds.NewGRPCServer(grpc.Creds(creds), xds.BootstrapContentsForTesting(bootstrap))
	if err != nil {
		t.Fatal(err)
	}
	handler := func(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
		if err := dec(&wrapperspb.StringValue{}); err != nil {
			return nil, err
		}
		return wrapperspb.String("ok"), nil
	}
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "skiff.test.Version",
		HandlerType: (*any)(nil),
		Methods:     []grpc.MethodDesc{{MethodName: "Get", Handler: handler}, {MethodName: "Delete", Handler: handler}},
	}, struct{}{})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
}

// methodClient is a proxyless gRPC client with xDS credentials running as workload, calling any method
// with optional request metadata (key, value pairs).
func methodClient(t *testing.T, xdsAddr, certDir, workload string) func(method string, md ...string) error {
	t.Helper()
	resolver, err := xds.NewXDSResolverWithConfigForTesting(grpcBootstrap(xdsAddr, certDir, workload))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := xdscreds.NewClientCredentials(xdscreds.ClientOptions{FallbackCreds: insecure.NewCredentials()})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(target, grpc.WithResolvers(resolver), grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return func(method string, md ...string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		ctx = metadata.AppendToOutgoingContext(ctx, md...)
		return conn.Invoke(ctx, method, wrapperspb.String(""), &wrapperspb.StringValue{})
	}
}

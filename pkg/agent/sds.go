package agent

import (
	"context"
	"strconv"
	"sync"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	secretv3 "github.com/envoyproxy/go-control-plane/envoy/service/secret/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
)

// The SDS secret names the control plane's xDS refers to (Istio's): the workload certificate and the
// mesh root.
const (
	SecretWorkload = "default"
	SecretRoot     = "ROOTCA"
)

// SDS serves the workload's certificate and the mesh root to the local Envoy over the Secret Discovery
// Service, pushing each renewal.
type SDS struct {
	cache   cachev3.SnapshotCache
	server  serverv3.Server
	mu      sync.Mutex
	version uint64
}

// localNode hashes every client to one key: the SDS socket is only reachable by the pod's own proxy.
type localNode struct{}

func (localNode) ID(*corev3.Node) string { return "local" }

// NewSDS builds an SDS server with no secrets yet; requests wait until the first Update.
func NewSDS(ctx context.Context) *SDS {
	c := cachev3.NewSnapshotCache(false, localNode{}, nil)
	return &SDS{cache: c, server: serverv3.NewServer(ctx, c, nil)}
}

// Register adds the Secret Discovery Service to g.
func (s *SDS) Register(g *grpc.Server) { secretv3.RegisterSecretDiscoveryServiceServer(g, s.server) }

// Update publishes new credentials to every connected proxy.
func (s *SDS) Update(ctx context.Context, c *Credentials) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version++
	inline := func(b []byte) *corev3.DataSource {
		return &corev3.DataSource{Specifier: &corev3.DataSource_InlineBytes{InlineBytes: b}}
	}
	snap, err := cachev3.NewSnapshot(strconv.FormatUint(s.version, 10), map[resource.Type][]types.Resource{
		resource.SecretType: {
			&tlsv3.Secret{Name: SecretWorkload, Type: &tlsv3.Secret_TlsCertificate{TlsCertificate: &tlsv3.TlsCertificate{
				CertificateChain: inline(c.ChainPEM),
				PrivateKey:       inline(c.KeyPEM),
			}}},
			&tlsv3.Secret{Name: SecretRoot, Type: &tlsv3.Secret_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{
				TrustedCa: inline(c.RootPEM),
			}}},
		},
	})
	if err != nil {
		return err
	}
	return s.cache.SetSnapshot(ctx, "local", snap)
}

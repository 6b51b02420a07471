package ca

import (
	"context"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	securityapi "istio.io/api/security/v1alpha1"
)

// Authenticator turns a bearer token into an identity.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (Identity, error)
}

// Service implements Istio's IstioCertificateService, so Istio's own agents (and Skiff's) can use it.
type Service struct {
	securityapi.UnimplementedIstioCertificateServiceServer
	Authority     *Authority
	Authenticator Authenticator
	// MaxTTL caps the lifetime a client may ask for; DefaultTTL applies when it asks for none.
	MaxTTL     time.Duration
	DefaultTTL time.Duration
	// Observe, when set, is told the outcome of every request (nil for an issued certificate), for metrics.
	Observe func(error)
}

// Register adds the service to g.
func (s *Service) Register(g *grpc.Server) {
	securityapi.RegisterIstioCertificateServiceServer(g, s)
}

// CreateCertificate authenticates the caller's bearer token and signs its CSR for that identity only.
func (s *Service) CreateCertificate(ctx context.Context, req *securityapi.IstioCertificateRequest) (*securityapi.IstioCertificateResponse, error) {
	resp, err := s.createCertificate(ctx, req)
	if s.Observe != nil {
		s.Observe(err)
	}
	return resp, err
}

func (s *Service) createCertificate(ctx context.Context, req *securityapi.IstioCertificateRequest) (*securityapi.IstioCertificateResponse, error) {
	token := bearerToken(ctx)
	if token == "" {
		return nil, status.Error(codes.Unauthenticated, "no bearer token in the authorization header")
	}
	id, err := s.Authenticator.Authenticate(ctx, token)
	if err != nil {
		return nil, status.Errorf(codes.Unauthenticated, "authenticating caller: %v", err)
	}
	ttl := time.Duration(req.GetValidityDuration()) * time.Second
	if ttl <= 0 {
		ttl = s.DefaultTTL
	}
	if s.MaxTTL > 0 && ttl > s.MaxTTL {
		ttl = s.MaxTTL
	}
	chain, err := s.Authority.Sign([]byte(req.GetCsr()), id, ttl)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "signing: %v", err)
	}
	return &securityapi.IstioCertificateResponse{CertChain: chain}, nil
}

func bearerToken(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		if t, ok := strings.CutPrefix(v, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
	}
	return ""
}

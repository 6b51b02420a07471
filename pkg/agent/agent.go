// Package agent is `skiff agent`, the per-workload helper (what pilot-agent is to Istio): it obtains the
// workload's SPIFFE certificate from the controller's CA with the pod's projected ServiceAccount token,
// keeps it renewed on disk, and writes the xDS bootstrap proxyless gRPC applications start from.
package agent

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	securityapi "istio.io/api/security/v1alpha1"

	"skiff.dev/skiff/pkg/errs"
)

// File names in OutputDir, as Istio's agent writes them.
const (
	CertChainFile = "cert-chain.pem"
	KeyFile       = "key.pem"
	RootCertFile  = "root-cert.pem"
)

// Options configure the agent.
type Options struct {
	// CAAddr is the controller's TLS port (istiod.istio-system.svc:15012); ServerName is the name its
	// certificate is checked against (defaults to CAAddr's host).
	CAAddr     string
	ServerName string
	// RootCert is the mesh root (the mounted istio-ca-root-cert ConfigMap) that authenticates the CA.
	RootCert string
	// TokenFile is the projected ServiceAccount token for audience istio-ca.
	TokenFile string
	OutputDir string
	CertTTL   time.Duration
	// GRPCBootstrap, when set, is where the proxyless gRPC bootstrap is written.
	GRPCBootstrap string
	// SDSSocket, when set, is the Unix socket where the certificates are served to Envoy over SDS.
	SDSSocket string
	// EnvoyBootstrap, when set, is where the sidecar's Envoy bootstrap is written (needs SDSSocket); Envoy
	// gets xDS from CAAddr, the controller's TLS port.
	EnvoyBootstrap string
	Bootstrap      BootstrapOptions
	Log            *slog.Logger
}

// Credentials are a workload's key, certificate chain (leaf first) and root.
type Credentials struct {
	KeyPEM   []byte
	ChainPEM []byte
	RootPEM  []byte
	NotAfter time.Time
}

// Run writes the bootstrap, then fetches the certificate and renews it at half its lifetime until ctx
// ends. A failed renewal is retried with backoff while the current certificate is still valid.
func Run(ctx context.Context, o Options) error {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.GRPCBootstrap != "" {
		b, err := GRPCBootstrapJSON(o.Bootstrap, o.OutputDir)
		if err != nil {
			return err
		}
		if err := writeAtomic(o.GRPCBootstrap, b, 0o644); err != nil {
			return errs.Failure("writing the gRPC bootstrap: %v", err)
		}
		o.Log.Info("wrote gRPC xDS bootstrap", "path", o.GRPCBootstrap)
	}
	if o.EnvoyBootstrap != "" {
		b, err := EnvoyBootstrapJSON(EnvoyBootstrapOptions{BootstrapOptions: o.Bootstrap, SecureXDSAddr: o.CAAddr, RootCert: o.RootCert, SDSSocket: o.SDSSocket})
		if err != nil {
			return err
		}
		if err := writeAtomic(o.EnvoyBootstrap, b, 0o644); err != nil {
			return errs.Failure("writing the Envoy bootstrap: %v", err)
		}
		o.Log.Info("wrote Envoy bootstrap", "path", o.EnvoyBootstrap)
	}
	var sds *SDS
	if o.SDSSocket != "" {
		var stop func()
		var err error
		if sds, stop, err = serveSDS(ctx, o.SDSSocket); err != nil {
			return err
		}
		defer stop()
		o.Log.Info("serving SDS", "socket", o.SDSSocket)
	}
	retry := time.Second
	var notAfter time.Time
	for {
		creds, err := Fetch(ctx, o)
		wait := retry
		switch {
		case err == nil:
			if err := creds.Write(o.OutputDir); err != nil {
				return errs.Failure("writing certificates to %s: %v", o.OutputDir, err)
			}
			if sds != nil {
				if err := sds.Update(ctx, creds); err != nil {
					return errs.Failure("publishing certificates over SDS: %v", err)
				}
			}
			notAfter = creds.NotAfter
			wait = time.Until(notAfter) / 2
			retry = time.Second
			o.Log.Info("workload certificate written", "dir", o.OutputDir, "expires", notAfter.Format(time.RFC3339))
		case notAfter.IsZero() || time.Now().After(notAfter):
			if errs.KindOf(err) != errs.KindFailure || ctx.Err() != nil {
				return err
			}
			o.Log.Error("no valid certificate; retrying", "error", err)
			retry = min(2*retry, time.Minute)
		default:
			o.Log.Warn("certificate renewal failed; retrying", "error", err, "expires", notAfter.Format(time.RFC3339))
			retry = min(2*retry, time.Minute)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// serveSDS listens on a Unix socket (replacing a stale one from a previous run) and serves SDS on it.
func serveSDS(ctx context.Context, path string) (*SDS, func(), error) {
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return nil, nil, errs.Failure("removing stale SDS socket %s: %v", path, err)
	}
	lis, err := net.Listen("unix", path)
	if err != nil {
		return nil, nil, errs.Failure("SDS socket %s: %v", path, err)
	}
	sds := NewSDS(ctx)
	g := grpc.NewServer()
	sds.Register(g)
	go func() { _ = g.Serve(lis) }()
	return sds, g.Stop, nil
}

// Fetch creates a fresh P-256 key and has the CA sign it for the token's service account.
func Fetch(ctx context.Context, o Options) (*Credentials, error) {
	root, err := os.ReadFile(o.RootCert)
	if err != nil {
		return nil, errs.BadInput("root certificate: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(root) {
		return nil, errs.BadInput("%s: no PEM certificate", o.RootCert)
	}
	token, err := os.ReadFile(o.TokenFile)
	if err != nil {
		return nil, errs.BadInput("service account token: %v", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		return nil, err
	}
	serverName := o.ServerName
	if serverName == "" {
		serverName, _, _ = strings.Cut(o.CAAddr, ":")
	}
	conn, err := grpc.NewClient(o.CAAddr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12})))
	if err != nil {
		return nil, errs.BadInput("CA address %q: %v", o.CAAddr, err)
	}
	defer conn.Close()
	callCtx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+strings.TrimSpace(string(token))), 30*time.Second)
	defer cancel()
	resp, err := securityapi.NewIstioCertificateServiceClient(conn).CreateCertificate(callCtx, &securityapi.IstioCertificateRequest{
		Csr:              string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER})),
		ValidityDuration: int64(o.CertTTL / time.Second),
	})
	if err != nil {
		return nil, errs.Failure("certificate request to %s: %v", o.CAAddr, err)
	}
	return credentialsFrom(key, resp.GetCertChain(), root)
}

func credentialsFrom(key *ecdsa.PrivateKey, chain []string, root []byte) (*Credentials, error) {
	if len(chain) == 0 {
		return nil, errs.Failure("the CA returned no certificate")
	}
	block, _ := pem.Decode([]byte(chain[0]))
	if block == nil {
		return nil, errs.Failure("the CA returned a malformed certificate")
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, errs.Failure("the CA returned a malformed certificate: %v", err)
	}
	if pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(key.Public()) {
		return nil, errs.Failure("the CA certified a different key")
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	// The chain without its root: peers verify against root-cert.pem.
	var chainPEM []byte
	for _, c := range chain {
		if strings.TrimSpace(c) != strings.TrimSpace(string(root)) {
			chainPEM = append(chainPEM, c...)
		}
	}
	return &Credentials{
		KeyPEM:   pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		ChainPEM: chainPEM,
		RootPEM:  root,
		NotAfter: leaf.NotAfter,
	}, nil
}

// Write replaces the files in dir so a reader never sees a key without its certificate: each file is
// written aside and renamed, key first.
func (c *Credentials) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return errors.Join(
		writeAtomic(filepath.Join(dir, KeyFile), c.KeyPEM, 0o600),
		writeAtomic(filepath.Join(dir, CertChainFile), c.ChainPEM, 0o644),
		writeAtomic(filepath.Join(dir, RootCertFile), c.RootPEM, 0o644),
	)
}

func writeAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replacing %s: %w", path, err)
	}
	return nil
}

package proxyconfig

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"time"

	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
)

func secretHeaders() []string {
	return []string{"RESOURCE NAME", "TYPE", "STATUS", "VALID CERT", "SERIAL NUMBER", "NOT AFTER", "NOT BEFORE"}
}

// secretRows describes the first certificate of each secret: the workload certificate of a chain, or
// the root of a trust bundle.
func secretRows(secrets []secret, now time.Time) [][]string {
	rows := make([][]string, 0, len(secrets))
	for _, s := range secrets {
		kind, pemBytes := secretCert(s.secret)
		row := []string{s.name, kind, s.status, "false", "-", "-", "-"}
		if cert := firstCert(pemBytes); cert != nil {
			valid := !now.Before(cert.NotBefore) && !now.After(cert.NotAfter)
			row[3] = fmt.Sprint(valid)
			row[4] = cert.SerialNumber.Text(16)
			row[5] = cert.NotAfter.UTC().Format(time.RFC3339)
			row[6] = cert.NotBefore.UTC().Format(time.RFC3339)
		}
		rows = append(rows, row)
	}
	return rows
}

func secretCert(s *tlsv3.Secret) (kind string, pemBytes []byte) {
	switch {
	case s.GetTlsCertificate() != nil:
		return "Cert Chain", s.GetTlsCertificate().GetCertificateChain().GetInlineBytes()
	case s.GetValidationContext() != nil:
		return "CA", s.GetValidationContext().GetTrustedCa().GetInlineBytes()
	}
	return "-", nil
}

func firstCert(pemBytes []byte) *x509.Certificate {
	for len(pemBytes) > 0 {
		var block *pem.Block
		block, pemBytes = pem.Decode(pemBytes)
		if block == nil {
			return nil
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if cert, err := x509.ParseCertificate(block.Bytes); err == nil {
			return cert
		}
	}
	return nil
}

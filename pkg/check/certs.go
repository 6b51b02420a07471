package check

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"time"
)

// MinCertValidity is how long a CA bundle or root certificate must still be valid before it is a warning:
// renewing and rolling out a root takes time.
const MinCertValidity = 30 * 24 * time.Hour

// parseCerts decodes every CERTIFICATE block of a PEM bundle; a bundle with none is an error.
func parseCerts(bundle []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for rest := bundle; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %v", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("no PEM certificate found")
	}
	return certs, nil
}

// expiry judges the certificate of certs that expires first: an error when it is expired or not valid
// yet, a warning when it has less than MinCertValidity left. what names the certificates in messages.
func expiry(what string, certs []*x509.Certificate, now time.Time) (Status, string) {
	first := certs[0]
	for _, c := range certs[1:] {
		if c.NotAfter.Before(first.NotAfter) {
			first = c
		}
	}
	subject := first.Subject.CommonName
	if subject == "" {
		subject = first.Subject.String()
	}
	left := first.NotAfter.Sub(now)
	switch {
	case now.Before(first.NotBefore):
		return StatusError, fmt.Sprintf("%s %q is not valid until %s", what, subject, first.NotBefore.UTC().Format(time.RFC3339))
	case left <= 0:
		return StatusError, fmt.Sprintf("%s %q expired on %s", what, subject, first.NotAfter.UTC().Format(time.RFC3339))
	case left < MinCertValidity:
		return StatusWarning, fmt.Sprintf("%s %q expires in %s (on %s)", what, subject, days(left), first.NotAfter.UTC().Format(time.DateOnly))
	}
	return StatusOK, fmt.Sprintf("%s %q is valid for %s more (until %s)", what, subject, days(left), first.NotAfter.UTC().Format(time.DateOnly))
}

func days(d time.Duration) string {
	n := int(d.Hours() / 24)
	if n == 1 {
		return "1 day"
	}
	if n == 0 {
		return fmt.Sprintf("%d hours", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", n)
}

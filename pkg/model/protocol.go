package model

import "strings"

// Protocol is a port's application protocol, taken from appProtocol or the port name's prefix as Istio does
// (http, http-web, grpc-api, tcp-db, ...).
type Protocol string

// The protocols the translator distinguishes.
const (
	HTTP    Protocol = "HTTP"
	HTTP2   Protocol = "HTTP2"
	GRPC    Protocol = "GRPC"
	HTTPS   Protocol = "HTTPS"
	TLS     Protocol = "TLS"
	TCP     Protocol = "TCP"
	UDP     Protocol = "UDP"
	Unknown Protocol = "UNKNOWN"
)

// ParseProtocol maps Istio's protocol names (case-insensitive) to a Protocol; unknown names give Unknown.
func ParseProtocol(s string) Protocol {
	switch strings.ToLower(s) {
	case "http", "http-web", "kubernetes.io/http":
		return HTTP
	case "http2", "kubernetes.io/h2c":
		return HTTP2
	case "grpc", "grpc-web":
		return GRPC
	case "https", "kubernetes.io/https":
		return HTTPS
	case "tls":
		return TLS
	case "tcp", "mongo", "mysql", "redis":
		return TCP
	case "udp":
		return UDP
	}
	return Unknown
}

// PortProtocol picks a Kubernetes service port's protocol: appProtocol first, then the name's prefix.
func PortProtocol(name, appProtocol, transport string) Protocol {
	if strings.EqualFold(transport, "UDP") {
		return UDP
	}
	if appProtocol != "" {
		if p := ParseProtocol(appProtocol); p != Unknown {
			return p
		}
	}
	prefix, _, _ := strings.Cut(name, "-")
	return ParseProtocol(prefix)
}

// IsHTTP says whether requests on the port are routed by HTTP route rules. Ports of unknown protocol are
// treated as HTTP: Istio sniffs them, and plain-text HTTP is by far the common case.
func (p Protocol) IsHTTP() bool {
	switch p {
	case HTTP, HTTP2, GRPC, Unknown:
		return true
	}
	return false
}

// IsHTTP2 says whether the upstream speaks HTTP/2.
func (p Protocol) IsHTTP2() bool { return p == HTTP2 || p == GRPC }

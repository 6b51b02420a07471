package xds

import (
	"strconv"
	"strings"
)

// Well-known names shared with Istio.
const (
	passthroughCluster  = "PassthroughCluster"
	blackholeCluster    = "BlackHoleCluster"
	virtualOutbound     = "virtualOutbound"
	virtualOutboundPort = 15001

	faultFilter            = "envoy.filters.http.fault"
	corsFilter             = "envoy.filters.http.cors"
	routerFilter           = "envoy.filters.http.router"
	hcmFilter              = "envoy.filters.network.http_connection_manager"
	tcpProxyFilter         = "envoy.filters.network.tcp_proxy"
	httpProtocolOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
)

// ClusterName is Istio's outbound cluster name: outbound|<port>|<subset>|<host>.
func ClusterName(port uint32, subset, host string) string {
	return "outbound|" + strconv.FormatUint(uint64(port), 10) + "|" + subset + "|" + host
}

// ParseClusterName splits an outbound cluster name; ok is false for other clusters.
func ParseClusterName(name string) (port uint32, subset, host string, ok bool) {
	parts := strings.SplitN(name, "|", 4)
	if len(parts) != 4 || parts[0] != "outbound" {
		return 0, "", "", false
	}
	n, err := strconv.ParseUint(parts[1], 10, 32)
	if err != nil {
		return 0, "", "", false
	}
	return uint32(n), parts[2], parts[3], true
}

// HostPort is the name of proxyless gRPC listeners and route configurations: the xds:/// target.
func HostPort(host string, port uint32) string {
	return host + ":" + strconv.FormatUint(uint64(port), 10)
}

func portName(port uint32) string { return strconv.FormatUint(uint64(port), 10) }

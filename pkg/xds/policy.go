package xds

import (
	"math"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
	networking "istio.io/api/networking/v1alpha3"

	"skiff.dev/skiff/pkg/model"
)

// trafficPolicy is a DestinationRule's policy flattened for one subset and port: each part comes from the
// most specific place that sets it (subset port level, subset, top-level port level, top level), as in
// Istio's MergeTrafficPolicy.
type trafficPolicy struct {
	loadBalancer     *networking.LoadBalancerSettings
	connectionPool   *networking.ConnectionPoolSettings
	outlierDetection *networking.OutlierDetection
	tls              *networking.ClientTLSSettings
}

func policyFor(dr *model.DestinationRule, subset string, port uint32) trafficPolicy {
	var p trafficPolicy
	if dr == nil {
		return p
	}
	p.merge(dr.Spec.GetTrafficPolicy(), port)
	if subset != "" {
		for _, s := range dr.Spec.GetSubsets() {
			if s.GetName() == subset {
				p.merge(s.GetTrafficPolicy(), port)
				break
			}
		}
	}
	return p
}

func (p *trafficPolicy) merge(tp *networking.TrafficPolicy, port uint32) {
	if tp == nil {
		return
	}
	p.set(tp.GetLoadBalancer(), tp.GetConnectionPool(), tp.GetOutlierDetection(), tp.GetTls())
	for _, pl := range tp.GetPortLevelSettings() {
		if pl.GetPort().GetNumber() == port {
			p.set(pl.GetLoadBalancer(), pl.GetConnectionPool(), pl.GetOutlierDetection(), pl.GetTls())
			break
		}
	}
}

func (p *trafficPolicy) set(lb *networking.LoadBalancerSettings, pool *networking.ConnectionPoolSettings, od *networking.OutlierDetection, tls *networking.ClientTLSSettings) {
	if tls != nil {
		p.tls = tls
	}
	if lb != nil {
		p.loadBalancer = lb
	}
	if pool != nil {
		p.connectionPool = pool
	}
	if od != nil {
		p.outlierDetection = od
	}
}

// applyPolicy sets the cluster's load balancer, circuit breakers and outlier detection; HTTP connection
// settings go into opts.
func (g *generator) applyPolicy(c *clusterv3.Cluster, opts *httpv3.HttpProtocolOptions, p trafficPolicy) {
	g.applyLoadBalancer(c, p.loadBalancer)
	applyConnectionPool(c, opts, p.connectionPool)
	applyOutlierDetection(c, p.outlierDetection, g.proxy.Type)
}

func (g *generator) applyLoadBalancer(c *clusterv3.Cluster, lb *networking.LoadBalancerSettings) {
	if lb == nil || c.LbPolicy == clusterv3.Cluster_CLUSTER_PROVIDED {
		return
	}
	grpc := g.proxy.Type == model.ProxylessGRPC
	if ch := lb.GetConsistentHash(); ch != nil {
		if ch.GetMaglev() != nil && !grpc {
			c.LbPolicy = clusterv3.Cluster_MAGLEV
			return
		}
		c.LbPolicy = clusterv3.Cluster_RING_HASH
		size := ch.GetRingHash().GetMinimumRingSize()
		if size == 0 {
			size = ch.GetMinimumRingSize()
		}
		if size > 0 && size <= 8388608 {
			c.LbConfig = &clusterv3.Cluster_RingHashLbConfig_{RingHashLbConfig: &clusterv3.Cluster_RingHashLbConfig{
				MinimumRingSize: wrapperspb.UInt64(size),
			}}
		}
		return
	}
	switch lb.GetSimple() {
	case networking.LoadBalancerSettings_ROUND_ROBIN:
		c.LbPolicy = clusterv3.Cluster_ROUND_ROBIN
	case networking.LoadBalancerSettings_LEAST_REQUEST: // LEAST_CONN is the same enum value.
		c.LbPolicy = clusterv3.Cluster_LEAST_REQUEST
	case networking.LoadBalancerSettings_RANDOM:
		// gRPC has no random balancer; round robin spreads load the same way on average.
		if grpc {
			c.LbPolicy = clusterv3.Cluster_ROUND_ROBIN
		} else {
			c.LbPolicy = clusterv3.Cluster_RANDOM
		}
	case networking.LoadBalancerSettings_PASSTHROUGH:
		if !grpc {
			c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_ORIGINAL_DST}
			c.LbPolicy = clusterv3.Cluster_CLUSTER_PROVIDED
			c.EdsClusterConfig = nil
			c.LoadAssignment = nil
		}
	}
}

// applyConnectionPool maps connectionPool onto circuit breakers. Like Istio, unset limits are effectively
// unlimited rather than Envoy's defaults of 1024.
func applyConnectionPool(c *clusterv3.Cluster, opts *httpv3.HttpProtocolOptions, pool *networking.ConnectionPoolSettings) {
	const unlimited = math.MaxUint32
	t := &clusterv3.CircuitBreakers_Thresholds{
		MaxConnections:     u32(unlimited),
		MaxPendingRequests: u32(unlimited),
		MaxRequests:        u32(unlimited),
		MaxRetries:         u32(unlimited),
		TrackRemaining:     true,
	}
	c.CircuitBreakers = &clusterv3.CircuitBreakers{Thresholds: []*clusterv3.CircuitBreakers_Thresholds{t}}
	if pool == nil {
		return
	}
	if tcp := pool.GetTcp(); tcp != nil {
		if n := tcp.GetMaxConnections(); n > 0 {
			t.MaxConnections = u32(uint32(n))
		}
		if d := positiveDuration(tcp.GetConnectTimeout()); d != nil {
			c.ConnectTimeout = d
		}
		if d := positiveDuration(tcp.GetMaxConnectionDuration()); d != nil {
			common(opts).MaxConnectionDuration = d
		}
	}
	if http := pool.GetHttp(); http != nil {
		if n := http.GetHttp1MaxPendingRequests(); n > 0 {
			t.MaxPendingRequests = u32(uint32(n))
		}
		if n := http.GetHttp2MaxRequests(); n > 0 {
			t.MaxRequests = u32(uint32(n))
		}
		if n := http.GetMaxRetries(); n > 0 {
			t.MaxRetries = u32(uint32(n))
		}
		if n := http.GetMaxRequestsPerConnection(); n > 0 {
			common(opts).MaxRequestsPerConnection = u32(uint32(n))
		}
		if d := nonNegativeDuration(http.GetIdleTimeout()); d != nil {
			common(opts).IdleTimeout = d
		}
	}
}

func common(opts *httpv3.HttpProtocolOptions) *corev3.HttpProtocolOptions {
	if opts.CommonHttpProtocolOptions == nil {
		opts.CommonHttpProtocolOptions = &corev3.HttpProtocolOptions{}
	}
	return opts.CommonHttpProtocolOptions
}

// applyOutlierDetection follows Istio: only the consecutive-error detectors that are configured enforce,
// and success-rate ejection (on by default in Envoy and gRPC) is switched off.
func applyOutlierDetection(c *clusterv3.Cluster, od *networking.OutlierDetection, proxy model.ProxyType) {
	if od == nil {
		return
	}
	out := &clusterv3.OutlierDetection{
		EnforcingSuccessRate:               u32(0),
		EnforcingConsecutive_5Xx:           u32(0),
		EnforcingConsecutiveGatewayFailure: u32(0),
	}
	if v := od.GetConsecutive_5XxErrors(); v != nil {
		out.Consecutive_5Xx = u32(v.GetValue())
		if v.GetValue() > 0 {
			out.EnforcingConsecutive_5Xx = u32(100)
		}
	} else if n := od.GetConsecutiveErrors(); n > 0 { // deprecated field, same meaning
		out.Consecutive_5Xx = u32(uint32(n))
		out.EnforcingConsecutive_5Xx = u32(100)
	}
	if v := od.GetConsecutiveGatewayErrors(); v != nil {
		out.ConsecutiveGatewayFailure = u32(v.GetValue())
		if v.GetValue() > 0 {
			out.EnforcingConsecutiveGatewayFailure = u32(100)
		}
	}
	if od.GetSplitExternalLocalOriginErrors() {
		out.SplitExternalLocalOriginErrors = true
		if v := od.GetConsecutiveLocalOriginFailures(); v != nil {
			out.ConsecutiveLocalOriginFailure = u32(v.GetValue())
			out.EnforcingConsecutiveLocalOriginFailure = u32(100)
		}
	}
	// The failure-percentage detector is the one gRPC clients implement besides success rate (gRFC A50);
	// they ignore the consecutive-error detectors.
	if v := od.GetFailurePercentageThreshold(); v != nil {
		out.FailurePercentageThreshold = u32(min(v.GetValue(), 100))
		out.EnforcingFailurePercentage = u32(100)
	}
	if d := positiveDuration(od.GetInterval()); d != nil {
		out.Interval = d
	}
	if d := positiveDuration(od.GetBaseEjectionTime()); d != nil {
		out.BaseEjectionTime = d
	}
	if p := od.GetMaxEjectionPercent(); p > 0 {
		out.MaxEjectionPercent = u32(uint32(min(p, 100)))
	}
	if p := od.GetMinHealthPercent(); p > 0 && proxy != model.ProxylessGRPC {
		c.CommonLbConfig = &clusterv3.Cluster_CommonLbConfig{HealthyPanicThreshold: &typev3.Percent{Value: float64(min(p, 100))}}
	}
	c.OutlierDetection = out
}

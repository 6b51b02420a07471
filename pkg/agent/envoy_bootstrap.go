package agent

import (
	"net"
	"strconv"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"

	"skiff.dev/skiff/pkg/errs"
)

// Cluster names the controller's xDS and Istio's bootstrap share.
const (
	xdsClusterName = "xds-grpc"
	sdsClusterName = "sds-grpc"
	envoyAdminPort = 15000
)

// EnvoyBootstrapOptions describe the sidecar: its identity, where xDS comes from (the controller's TLS
// port, authenticated with the mesh root file) and the agent's SDS socket.
type EnvoyBootstrapOptions struct {
	BootstrapOptions
	// ProxyType is "sidecar" or "router" (gateways).
	ProxyType string
	// SecureXDSAddr is host:port of the controller's TLS xDS port; RootCert the mesh root file.
	SecureXDSAddr string
	RootCert      string
	SDSSocket     string
	// AdminPort is Envoy's admin port on localhost (default 15000). StatusPort, when set, is the agent's
	// status server: Envoy then serves the kubelet's /healthz/ready on 15021 from it, and Prometheus
	// metrics on 15090, as Istio's bootstrap does.
	AdminPort  int
	StatusPort int
}

// EnvoyBootstrap builds the sidecar's Envoy bootstrap: its node (Istio's ID format, so the controller
// knows the proxy's type and namespace), ADS to the controller over TLS, the sds-grpc cluster to the
// agent's socket that xDS refers to for certificates, and the admin port on localhost.
func EnvoyBootstrap(o EnvoyBootstrapOptions) (*bootstrapv3.Bootstrap, error) {
	host, portStr, err := net.SplitHostPort(o.SecureXDSAddr)
	if err != nil {
		return nil, errs.Usage("xDS address %q: %v", o.SecureXDSAddr, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil || o.PodNamespace == "" || o.SDSSocket == "" || o.RootCert == "" {
		return nil, errs.Usage("the Envoy bootstrap needs the xDS host:port, the pod namespace, the SDS socket and the root certificate")
	}
	adminPort := o.AdminPort
	if adminPort == 0 {
		adminPort = envoyAdminPort
	}
	typ := o.ProxyType
	if typ == "" {
		typ = "sidecar"
	}
	suffix := o.DomainSuffix
	if suffix == "" {
		suffix = "cluster.local"
	}
	labels := map[string]any{}
	for k, v := range o.Labels {
		labels[k] = v
	}
	meta, err := structpb.NewStruct(map[string]any{"NAMESPACE": o.PodNamespace, "LABELS": labels})
	if err != nil {
		return nil, err
	}
	http2 := map[string]*anypb.Any{"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": mustAny(&httpv3.HttpProtocolOptions{
		UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
			ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{Http2ProtocolOptions: &corev3.Http2ProtocolOptions{}},
		}},
	})}
	xdsTLS := &tlsv3.UpstreamTlsContext{Sni: host, CommonTlsContext: &tlsv3.CommonTlsContext{
		ValidationContextType: &tlsv3.CommonTlsContext_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{
			TrustedCa: &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: o.RootCert}},
		}},
	}}
	ads := &corev3.ApiConfigSource{
		ApiType:             corev3.ApiConfigSource_GRPC,
		TransportApiVersion: corev3.ApiVersion_V3,
		GrpcServices:        []*corev3.GrpcService{{TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: xdsClusterName}}}},
	}
	adsSource := &corev3.ConfigSource{ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}}, ResourceApiVersion: corev3.ApiVersion_V3}
	b := &bootstrapv3.Bootstrap{
		Node: &corev3.Node{
			Id:       typ + "~" + o.PodIP + "~" + o.PodName + "." + o.PodNamespace + "~" + o.PodNamespace + ".svc." + suffix,
			Cluster:  o.PodName,
			Metadata: meta,
		},
		DynamicResources: &bootstrapv3.Bootstrap_DynamicResources{AdsConfig: ads, CdsConfig: adsSource, LdsConfig: adsSource},
		StaticResources: &bootstrapv3.Bootstrap_StaticResources{Clusters: []*clusterv3.Cluster{
			{
				Name:                          xdsClusterName,
				ClusterDiscoveryType:          &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STRICT_DNS},
				ConnectTimeout:                durationpb.New(10e9),
				TypedExtensionProtocolOptions: http2,
				LoadAssignment:                singleEndpoint(xdsClusterName, &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{Address: host, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: uint32(port)}}}}),
				TransportSocket:               &corev3.TransportSocket{Name: "envoy.transport_sockets.tls", ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: mustAny(xdsTLS)}},
			},
			{
				Name:                          sdsClusterName,
				ClusterDiscoveryType:          &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC},
				ConnectTimeout:                durationpb.New(1e9),
				TypedExtensionProtocolOptions: http2,
				LoadAssignment:                singleEndpoint(sdsClusterName, &corev3.Address{Address: &corev3.Address_Pipe{Pipe: &corev3.Pipe{Path: o.SDSSocket}}}),
			},
		}},
		Admin: &bootstrapv3.Admin{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
			Address: "127.0.0.1", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: uint32(adminPort)},
		}}}},
	}
	if o.StatusPort != 0 {
		addHealthListeners(b, o.StatusPort, adminPort)
	}
	if err := b.ValidateAll(); err != nil {
		return nil, errs.Failure("generated Envoy bootstrap is invalid: %v", err)
	}
	return b, nil
}

// EnvoyBootstrapJSON is EnvoyBootstrap in the JSON form `envoy -c` reads.
func EnvoyBootstrapJSON(o EnvoyBootstrapOptions) ([]byte, error) {
	b, err := EnvoyBootstrap(o)
	if err != nil {
		return nil, err
	}
	return protojson.MarshalOptions{Indent: "  "}.Marshal(b)
}

func singleEndpoint(cluster string, addr *corev3.Address) *endpointv3.ClusterLoadAssignment {
	return &endpointv3.ClusterLoadAssignment{ClusterName: cluster, Endpoints: []*endpointv3.LocalityLbEndpoints{{
		LbEndpoints: []*endpointv3.LbEndpoint{{HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{Address: addr}}}},
	}}}
}

// mustAny packs generated messages, which cannot fail to marshal; an empty Any would fail ValidateAll.
func mustAny(m proto.Message) *anypb.Any {
	a, err := anypb.New(m)
	if err != nil {
		return &anypb.Any{}
	}
	return a
}

// Package xds translates the immutable mesh model into Envoy xDS resources for one proxy (Generate), and
// serves them over ADS, state-of-the-world and delta, on go-control-plane's types (Server: why it is our
// own and not go-control-plane's, see server.go and docs/benchmarks.md). The Server also
// tracks, per stream and type, what it sent and what each proxy acknowledged or rejected (Syncz, served as
// /debug/syncz and read by `skiff proxy-status` and `skiff check`).
//
// Three proxy shapes are generated:
//   - sidecars: virtualOutbound (15001) and virtualInbound (15006), 0.0.0.0_<port> HTTP listeners with
//     route configurations named by port, <vip>_<port> TCP listeners, inbound filter chains by
//     PeerAuthentication mode, auto mTLS through transport_socket_matches;
//   - routers (gateways): listeners per Gateway server port, http.<port> and https.<port>.<name>.<gw>.<ns>
//     route configurations with the VirtualServices bound to the Gateway;
//   - proxyless gRPC: API listeners and route configurations named host:port (the xds:/// target), and
//     server listeners xds.istio.io/grpc/lds/inbound/<ip>:<port> when a gRPC server asks for them.
//
// Names follow Istio so that tooling and runbooks carry over: clusters are outbound|<port>|<subset>|<host>,
// SDS secrets "default" and "ROOTCA", the gRPC certificate provider "default". RequestAuthentication's
// JWKS servers outside the mesh get clusters named jwks|<scheme>://<host>:<port> (jwt.go). Telemetry
// (access logs, tracing) is set on every Envoy connection manager and TCP proxy (telemetry.go); a trace
// collector the proxy has no cluster for gets a DNS cluster under its outbound name.
package xds

package xds

import discoverygrpc "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"

// Adapters from whole requests and responses, as the tests feed the tracker.

func (t *syncTracker) onStreamRequest(id int64, req *discoverygrpc.DiscoveryRequest) {
	t.request(id, req.GetNode(), false, req.GetTypeUrl(), req.GetVersionInfo(), req.GetResponseNonce(), nackOf(req.GetErrorDetail()))
}

func (t *syncTracker) onStreamResponse(id int64, req *discoverygrpc.DiscoveryRequest, resp *discoverygrpc.DiscoveryResponse) {
	t.response(id, req.GetNode(), false, resp.GetTypeUrl(), resp.GetVersionInfo(), resp.GetNonce())
}

func (t *syncTracker) onDeltaRequest(id int64, req *discoverygrpc.DeltaDiscoveryRequest) {
	t.request(id, req.GetNode(), true, req.GetTypeUrl(), "", req.GetResponseNonce(), nackOf(req.GetErrorDetail()))
}

func (t *syncTracker) onDeltaResponse(id int64, req *discoverygrpc.DeltaDiscoveryRequest, resp *discoverygrpc.DeltaDiscoveryResponse) {
	t.response(id, req.GetNode(), true, resp.GetTypeUrl(), resp.GetSystemVersionInfo(), resp.GetNonce())
}

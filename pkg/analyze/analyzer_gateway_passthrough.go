package analyze

import (
	networking "istio.io/api/networking/v1alpha3"
)

// gatewayAutoPassthroughAnalyzer reports servers with TLS mode AUTO_PASSTHROUGH (SKF0007), which Skiff's
// gateways skip.
func gatewayAutoPassthroughAnalyzer() Analyzer {
	return Analyzer{
		Name:        "gateway.AutoPassthroughAnalyzer",
		Description: "Checks for gateway servers in TLS mode AUTO_PASSTHROUGH, which Skiff does not support",
		Codes:       []MessageType{GatewayAutoPassthroughNotSupported},
		Run: func(s *Snapshot, report func(Message)) {
			for _, r := range s.Kind("Gateway") {
				for i, srv := range gateway(r).GetServers() {
					if srv.GetTls().GetMode() == networking.ServerTLSSettings_AUTO_PASSTHROUGH {
						report(newMessage(GatewayAutoPassthroughNotSupported, r, r.Line("spec", "servers", i, "tls", "mode"), i, srv.GetPort().GetNumber()))
					}
				}
			}
		},
	}
}

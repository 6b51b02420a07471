package describe

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	networking "istio.io/api/networking/v1alpha3"
)

func TestWeights(t *testing.T) {
	cases := []struct{ in, want []int32 }{
		{[]int32{0}, []int32{100}},
		{[]int32{90, 10}, []int32{90, 10}},
		{[]int32{0, 0, 0, 0}, []int32{25, 25, 25, 25}},
		{[]int32{1, 3}, []int32{25, 75}},
	}
	for _, c := range cases {
		if got := Weights(c.in); !slices.Equal(got, c.want) {
			t.Errorf("Weights(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestMatchSummaries(t *testing.T) {
	http := []*networking.HTTPMatchRequest{
		{Uri: &networking.StringMatch{MatchType: &networking.StringMatch_Prefix{Prefix: "/api"}}, Method: &networking.StringMatch{MatchType: &networking.StringMatch_Exact{Exact: "GET"}}},
		{Headers: map[string]*networking.StringMatch{"x-b": {MatchType: &networking.StringMatch_Regex{Regex: "b.*"}}, "x-a": {MatchType: &networking.StringMatch_Exact{Exact: "1"}}}, SourceLabels: map[string]string{"app": "web"}},
	}
	if got, want := MatchSummary(http), "uri prefix /api, method =GET or header x-a =1, header x-b ~ b.*, from app=web"; got != want {
		t.Errorf("MatchSummary = %q, want %q", got, want)
	}
	if got := MatchSummary(nil); got != "all requests" {
		t.Errorf("MatchSummary(nil) = %q", got)
	}
	if got, want := L4MatchSummary([]L4Match{{Port: 443, SNI: []string{"a.example"}}, {Port: 8443}}), "port 443, sni a.example or port 8443"; got != want {
		t.Errorf("L4MatchSummary = %q, want %q", got, want)
	}
}

func TestPolicyHighlights(t *testing.T) {
	tp := &networking.TrafficPolicy{
		LoadBalancer:     &networking.LoadBalancerSettings{LbPolicy: &networking.LoadBalancerSettings_ConsistentHash{ConsistentHash: &networking.LoadBalancerSettings_ConsistentHashLB{HashKey: &networking.LoadBalancerSettings_ConsistentHashLB_UseSourceIp{UseSourceIp: true}}}},
		OutlierDetection: &networking.OutlierDetection{Consecutive_5XxErrors: wrapperspb.UInt32(3), Interval: durationpb.New(5e9)},
		PortLevelSettings: []*networking.TrafficPolicy_PortTrafficPolicy{{
			Port: &networking.PortSelector{Number: 9080},
			Tls:  &networking.ClientTLSSettings{Mode: networking.ClientTLSSettings_DISABLE},
		}},
	}
	want := []string{"load balancer: consistent hash on source IP", "outlier detection: eject after 3 consecutive 5xx, every 5s", "port 9080 tls: DISABLE"}
	if got := PolicyHighlights(tp); !slices.Equal(got, want) {
		t.Errorf("PolicyHighlights = %q, want %q", got, want)
	}
	dr := &networking.DestinationRule{TrafficPolicy: tp, Subsets: []*networking.Subset{{Name: "v2", TrafficPolicy: &networking.TrafficPolicy{Tls: &networking.ClientTLSSettings{Mode: networking.ClientTLSSettings_ISTIO_MUTUAL}}}}}
	if got := EffectiveTLS(dr, "v2", 9080).GetMode(); got != networking.ClientTLSSettings_ISTIO_MUTUAL {
		t.Errorf("subset TLS should win over top-level port settings, got %s", got)
	}
	if got := EffectiveTLS(dr, "v1", 9080).GetMode(); got != networking.ClientTLSSettings_DISABLE {
		t.Errorf("top-level port TLS for another subset, got %s", got)
	}
	if EffectiveTLS(dr, "", 80) != nil {
		t.Error("no TLS set for port 80")
	}
}

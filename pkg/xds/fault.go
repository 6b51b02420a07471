package xds

import (
	faultcommonv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/common/fault/v3"
	faultv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	"google.golang.org/grpc/codes"
	networking "istio.io/api/networking/v1alpha3"
)

// fault translates fault injection into the fault filter's per-route config. An unset percentage means
// every request, as in Istio; nil when nothing valid is left.
func fault(f *networking.HTTPFaultInjection) *faultv3.HTTPFault {
	if f == nil {
		return nil
	}
	out := &faultv3.HTTPFault{}
	if d := f.GetDelay(); d != nil {
		if fixed := positiveDuration(d.GetFixedDelay()); fixed != nil {
			out.Delay = &faultcommonv3.FaultDelay{
				FaultDelaySecifier: &faultcommonv3.FaultDelay_FixedDelay{FixedDelay: fixed},
				Percentage:         percentToFraction(faultPercent(d.GetPercentage(), d.GetPercent())),
			}
		}
	}
	if a := f.GetAbort(); a != nil {
		abort := &faultv3.FaultAbort{Percentage: percentToFraction(faultPercent(a.GetPercentage(), 0))}
		switch {
		case a.GetHttpStatus() >= 200 && a.GetHttpStatus() < 600:
			abort.ErrorType = &faultv3.FaultAbort_HttpStatus{HttpStatus: uint32(a.GetHttpStatus())}
		case a.GetGrpcStatus() != "":
			if code, ok := grpcCode(a.GetGrpcStatus()); ok {
				abort.ErrorType = &faultv3.FaultAbort_GrpcStatus{GrpcStatus: uint32(code)}
			}
		}
		if abort.ErrorType != nil {
			out.Abort = abort
		}
	}
	if out.Delay == nil && out.Abort == nil {
		return nil
	}
	return out
}

func faultPercent(p *networking.Percent, legacy int32) float64 {
	switch {
	case p != nil:
		return p.GetValue()
	case legacy > 0:
		return float64(legacy)
	}
	return 100
}

// grpcCode parses Istio's grpcStatus: a code name such as "UNAVAILABLE".
func grpcCode(s string) (codes.Code, bool) {
	var c codes.Code
	if err := c.UnmarshalJSON([]byte(`"` + s + `"`)); err != nil {
		return 0, false
	}
	return c, true
}

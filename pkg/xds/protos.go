package xds

import (
	"math"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// toAny packs a message. Marshalling a well-formed generated message cannot fail, so an error (which
// would mean a programming mistake) yields an empty Any that Validate and the proxy then reject loudly.
func toAny(m proto.Message) *anypb.Any {
	a, err := anypb.New(m)
	if err != nil {
		return &anypb.Any{}
	}
	return a
}

// adsSource points a resource at the ADS stream it arrived on.
func adsSource() *corev3.ConfigSource {
	return &corev3.ConfigSource{
		ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
		ResourceApiVersion:    corev3.ApiVersion_V3,
	}
}

// percentToFraction converts Istio's 0-100 double into Envoy's per-million fraction, clamped.
func percentToFraction(p float64) *typev3.FractionalPercent {
	if math.IsNaN(p) || p < 0 {
		p = 0
	}
	if p > 100 {
		p = 100
	}
	return &typev3.FractionalPercent{Numerator: uint32(math.Round(p * 10000)), Denominator: typev3.FractionalPercent_MILLION}
}

func u32(v uint32) *wrapperspb.UInt32Value { return wrapperspb.UInt32(v) }

func duration(d time.Duration) *durationpb.Duration { return durationpb.New(d) }

// positiveDuration returns d when it is a valid, strictly positive duration, else nil.
func positiveDuration(d *durationpb.Duration) *durationpb.Duration {
	if d == nil || d.CheckValid() != nil || d.AsDuration() <= 0 {
		return nil
	}
	return d
}

// nonNegativeDuration returns d when it is valid and not negative, else nil.
func nonNegativeDuration(d *durationpb.Duration) *durationpb.Duration {
	if d == nil || d.CheckValid() != nil || d.AsDuration() < 0 {
		return nil
	}
	return d
}

func durationZero() *durationpb.Duration { return durationpb.New(0) }

func boolFalse() *wrapperspb.BoolValue { return wrapperspb.Bool(false) }

func boolTrue() *wrapperspb.BoolValue { return wrapperspb.Bool(true) }

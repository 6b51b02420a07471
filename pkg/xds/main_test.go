package xds_test

import (
	"io"
	"os"
	"testing"

	"google.golang.org/grpc/grpclog"
)

// TestMain silences grpc-go's own logging (it reports normal serving-mode changes as errors) unless
// GRPC_GO_LOG_SEVERITY_LEVEL asks for it while debugging.
func TestMain(m *testing.M) {
	if os.Getenv("GRPC_GO_LOG_SEVERITY_LEVEL") == "" {
		grpclog.SetLoggerV2(grpclog.NewLoggerV2(io.Discard, io.Discard, io.Discard))
	}
	os.Exit(m.Run())
}

package controller

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"
)

// TestLeadershipConfiguration covers what needs no API server (the client is never called here); the
// election itself is tested against a real one in TestLeaderElection.
func TestLeadershipConfiguration(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	off, err := startLeadership(fake.NewClientset(), "istio-system", LeaderElection{}, log, func() {})
	if err != nil || !off.isLeader() {
		t.Fatalf("without a lease name the replica must lead: %v", err)
	}
	off.stop()

	bad := DefaultLeaderElection()
	bad.RenewDeadline = bad.LeaseDuration // client-go requires LeaseDuration > RenewDeadline
	if _, err := startLeadership(fake.NewClientset(), "istio-system", bad, log, func() {}); err == nil || !strings.Contains(err.Error(), "leader election") {
		t.Fatalf("inconsistent timings: got %v", err)
	}

	d := DefaultLeaderElection()
	if d.LeaseName != DefaultLeaseName || d.LeaseDuration <= d.RenewDeadline || d.RenewDeadline <= d.RetryPeriod || d.RetryPeriod < time.Second {
		t.Errorf("defaults %+v", d)
	}
}

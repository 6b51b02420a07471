package cmd

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/ui"
)

func runSkiff(args ...string) (string, error) {
	var out bytes.Buffer
	err := Execute(context.Background(), ui.Streams{In: strings.NewReader(""), Out: &out, Err: &out}, args)
	return out.String(), err
}

// TestManifestAndProfileCommands checks the commands' wiring: output, and the exit code and single-line
// message of each kind of bad input (the rules themselves are tested in pkg/install).
func TestManifestAndProfileCommands(t *testing.T) {
	out, err := runSkiff("manifest", "generate", "--profile", "minimal", "--set", "components.pilot.k8s.replicaCount=3")
	if err != nil || !strings.HasPrefix(out, "---\napiVersion: v1\nkind: Namespace\n") || !strings.Contains(out, "replicas: 3") {
		t.Errorf("manifest generate: %v\n%.300s", err, out)
	}
	if out, err := runSkiff("profile", "list"); err != nil || !strings.Contains(out, "demo") || !strings.Contains(out, "minimal") {
		t.Errorf("profile list: %v %s", err, out)
	}
	if out, err := runSkiff("profile", "dump", "demo", "-o", "json"); err != nil || !strings.Contains(out, `"traceSampling": 100`) {
		t.Errorf("profile dump: %v %.300s", err, out)
	}
	if out, err := runSkiff("profile", "diff", "default", "minimal"); err != nil ||
		!strings.Contains(out, "~ spec.components.ingressGateways[name:istio-ingressgateway].enabled: true → false") {
		t.Errorf("profile diff: %v %s", err, out)
	}
	for _, bad := range [][]string{
		{"manifest", "generate", "--profile", "nope"},
		{"manifest", "generate", "--set", "values.global.hbu=1"},
		{"manifest", "generate", "-f", "/nonexistent.yaml"},
		{"profile", "dump", "--set", "components.pilot.enabled=maybe"},
		{"profile", "diff", "default", "nope"},
	} {
		_, err := runSkiff(bad...)
		if errs.Code(err) != errs.ExitBadInput || strings.Contains(err.Error(), "\n") {
			t.Errorf("skiff %s: exit %d, error %q; want exit %d and one line", strings.Join(bad, " "), errs.Code(err), err, errs.ExitBadInput)
		}
	}
	if _, err := runSkiff("profile", "dump", "-o", "xml"); errs.Code(err) != errs.ExitUsage {
		t.Errorf("profile dump -o xml: exit %d, want %d", errs.Code(err), errs.ExitUsage)
	}
}

package cmd

import (
	"strings"
	"testing"

	"skiff.dev/skiff/pkg/errs"
)

// TestAnalyzeCommand checks the flag wiring of `skiff analyze` (the analysis itself is tested in pkg/analyze):
// files imply --use-kube=false, -o/-S/--failure-threshold reach the options, exit codes come through.
func TestAnalyzeCommand(t *testing.T) {
	t.Setenv("KUBECONFIG", "/nonexistent/kubeconfig")
	const dir = "../pkg/analyze/testdata/grid/"
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"analyze", dir + "clean.yaml"}, errs.ExitOK, "No validation issues found"},
		{[]string{"analyze", dir + "IST0101-gateway.yaml", "-o", "json"}, errs.ExitIssuesFound, `"code": "IST0101"`},
		{[]string{"analyze", dir + "IST0101-gateway.yaml", "-S", "IST0101=* *"}, errs.ExitOK, "No validation issues found"},
		{[]string{"analyze", dir + "IST0104.yaml", "--failure-threshold", "Warning", "-o", "github"}, errs.ExitIssuesFound, "::warning file="},
		{[]string{"analyze", dir + "IST0102-IST0103.yaml", "--output-threshold", "Warning"}, errs.ExitOK, "[IST0103]"},
		{[]string{"analyze", "-L"}, errs.ExitOK, "virtualservice.DestinationHostAnalyzer"},
		{[]string{"analyze", "-o", "xml", dir + "clean.yaml"}, errs.ExitUsage, "unknown output format"},
		{[]string{"analyze"}, errs.ExitUsage, "nothing to analyze"},
		{[]string{"analyze", "/nonexistent.yaml"}, errs.ExitBadInput, "/nonexistent.yaml"},
	}
	for _, c := range cases {
		out, err := runSkiff(c.args...)
		if err != nil {
			out += err.Error()
		}
		if errs.Code(err) != c.code || !strings.Contains(out, c.want) {
			t.Errorf("skiff %s: exit %d (%v), want %d and output containing %q:\n%.600s", strings.Join(c.args, " "), errs.Code(err), err, c.code, c.want, out)
		}
	}
	if out, _ := runSkiff("analyze", dir+"IST0102-IST0103.yaml", "--output-threshold", "Warning"); strings.Contains(out, "[IST0102]") {
		t.Errorf("--output-threshold Warning printed an Info message:\n%s", out)
	}
}

package cmd

import (
	"strings"
	"testing"

	"skiff.dev/skiff/pkg/errs"
)

// TestDescribeAndGraphCommands checks the wiring of `skiff x describe` and `skiff x graph` (the behaviour
// is tested in pkg/describe and pkg/graph): arguments and flags reach the options, exit codes come through.
func TestDescribeAndGraphCommands(t *testing.T) {
	t.Setenv("KUBECONFIG", "/nonexistent/kubeconfig")
	const dir = "../pkg/describe/testdata/bookinfo"
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"x", "describe", "pod", "reviews-v2-7bf8c9", "-f", dir}, errs.ExitOK, "http[1] \"canary\": all requests -> reviews.bookinfo v2 10%"},
		{[]string{"x", "describe", "svc", "reviews", "-n", "bookinfo", "-f", dir + "/workloads.yaml", "-f", dir + "/networking.yaml"}, errs.ExitOK, "subset v1 (version=v1): reviews-v1-545db7"},
		{[]string{"x", "describe", "svc", "reviews", "-n", "other", "-f", dir}, errs.ExitFailure, `service "reviews" not found in namespace other`},
		{[]string{"x", "describe", "deployment", "reviews", "-f", dir}, errs.ExitUsage, "the kinds are pod (po) and service (svc)"},
		{[]string{"x", "describe", "pod"}, errs.ExitUsage, "expected a kind and a name"},
		{[]string{"x", "describe", "pod", "reviews"}, errs.ExitFailure, "no usable kubeconfig"},
		{[]string{"x", "graph", "-f", dir}, errs.ExitOK, `"service:reviews.bookinfo.svc.cluster.local" -> "subset:reviews.bookinfo.svc.cluster.local/v1" [label="90% | mTLS"`},
		{[]string{"x", "graph", "-f", dir, "-o", "html", "--renderer", "builtin"}, errs.ExitOK, "<td>90%</td>"},
		{[]string{"x", "graph", "-f", dir, "-o", "png"}, errs.ExitUsage, `unknown output format "png"`},
		{[]string{"x", "graph", "-f", dir, "--use-kube"}, errs.ExitUsage, "not both"},
		{[]string{"x", "graph", "-k"}, errs.ExitFailure, "no usable kubeconfig"},
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
}

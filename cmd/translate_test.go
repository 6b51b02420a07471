package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"skiff.dev/skiff/pkg/errs"
)

// TestProxyConfigCommands checks the wiring of `skiff x translate` and `skiff proxy-config` (rendering and
// fetching are tested in pkg/proxyconfig): views, -o, filters and exit codes come through.
func TestProxyConfigCommands(t *testing.T) {
	t.Setenv("KUBECONFIG", "/nonexistent/kubeconfig")
	const in = "../pkg/proxyconfig/testdata/bookinfo.yaml"
	golden, err := os.ReadFile("../pkg/proxyconfig/testdata/golden/productpage.cluster.txt")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := runSkiff("x", "translate", "-f", in, "--proxy", "productpage-v1-0.default", "clusters"); err != nil || out != string(golden) {
		t.Errorf("x translate clusters: %v\n%s", err, out)
	}
	// The whole dump that `x translate -o json` prints is what `proxy-config --file` reads.
	whole, err := runSkiff("x", "translate", "-f", in, "--proxy", "productpage-v1-0.default", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	saved := filepath.Join(t.TempDir(), "dump.json")
	if err := os.WriteFile(saved, []byte(whole), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runSkiff("proxy-config", "cluster", "--file", saved); err != nil || out != string(golden) {
		t.Errorf("proxy-config cluster --file: %v\n%s", err, out)
	}
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"x", "translate", "-f", in, "--proxy", "productpage", "cluster", "--fqdn", "reviews", "--subset", "v3"}, errs.ExitOK, "reviews.default.svc.cluster.local   9080   v3"},
		{[]string{"x", "translate", "-f", in, "--proxy", "productpage", "route", "--name", "9080", "-o", "yaml"}, errs.ExitOK, "- name: \"9080\""},
		{[]string{"x", "translate", "-f", in, "--proxy", "productpage"}, errs.ExitOK, "SECRETS"},
		{[]string{"x", "translate", "-f", in, "--proxy", "productpage", "bootstrap"}, errs.ExitUsage, "choose one of: cluster, listener, route, endpoint, secret, all"},
		{[]string{"x", "translate", "-f", in, "--proxy", "productpage", "-o", "wide"}, errs.ExitUsage, "unknown output format"},
		{[]string{"x", "translate", "-f", "/nonexistent.yaml", "--proxy", "productpage"}, errs.ExitBadInput, "/nonexistent.yaml"},
		{[]string{"proxy-config", "cluster"}, errs.ExitUsage, "proxy-config needs a view and a pod"},
		{[]string{"pc", "bootstrap", "web-1"}, errs.ExitUsage, `unknown view "bootstrap"`},
		{[]string{"pc", "cluster", "web-1", "--file", "dump.json"}, errs.ExitUsage, "with --file, give only the view"},
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

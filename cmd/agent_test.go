package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"skiff.dev/skiff/pkg/ui"
)

// TestAgentAcceptsWhatPodsRun parses, with `skiff agent`'s real flag sets, every command line the
// injector's and the installer's golden outputs give the proxy image (whose entrypoint is
// "skiff agent") and every "skiff ..." lifecycle hook: a renamed flag or subcommand fails here before
// it fails in a pod.
func TestAgentAcceptsWhatPodsRun(t *testing.T) {
	files, _ := filepath.Glob("../pkg/inject/testdata/out/*.yaml")
	golden, _ := filepath.Glob("../pkg/install/testdata/*.golden.yaml")
	seen := map[string]bool{}
	for _, f := range append(files, golden...) {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(raw), "\n---") {
			var v any
			if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
				continue // not every golden document is one object; the agent's lines are in those that are
			}
			for _, argv := range agentCommandLines(v) {
				root := NewRoot(ui.Streams{})
				c, rest, err := root.Find(argv)
				if err == nil {
					err = c.ParseFlags(rest)
				}
				if err == nil {
					err = c.ValidateArgs(c.Flags().Args())
				}
				if err != nil || c.Parent() == nil || c.Parent().Name() != "agent" {
					t.Errorf("%s: skiff %s: %v (resolved to %q)", filepath.Base(f), strings.Join(argv, " "), err, c.CommandPath())
				}
				seen[c.Name()] = true
			}
		}
	}
	for _, want := range []string{"proxy", "iptables", "wait", "request"} {
		if !seen[want] {
			t.Errorf("no golden output runs `skiff agent %s`; the test lost its inputs", want)
		}
	}
}

// agentCommandLines finds the proxy image's containers (args after the "skiff agent" entrypoint) and
// "skiff" exec hooks anywhere in a decoded object.
func agentCommandLines(v any) [][]string {
	var out [][]string
	switch t := v.(type) {
	case map[string]any:
		name, _ := t["name"].(string)
		if args, ok := t["args"].([]any); ok && (name == "istio-proxy" || name == "istio-init" || name == "istio-validation") {
			out = append(out, append([]string{"agent"}, stringList(args)...))
		}
		if cmd, ok := t["command"].([]any); ok && len(cmd) > 1 && cmd[0] == "skiff" {
			out = append(out, stringList(cmd[1:]))
		}
		for _, e := range t {
			out = append(out, agentCommandLines(e)...)
		}
	case []any:
		for _, e := range t {
			out = append(out, agentCommandLines(e)...)
		}
	}
	return out
}

func stringList(l []any) []string {
	out := make([]string, 0, len(l))
	for _, e := range l {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

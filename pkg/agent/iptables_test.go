package agent

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"skiff.dev/skiff/pkg/errs"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// templateDefaults are the flags the injection template passes for a pod without annotations.
func templateDefaults() IptablesOptions {
	return IptablesOptions{
		ProxyPort: "15001", InboundCapturePort: "15006", ProxyUID: "1337", Mode: "REDIRECT",
		IncludeOutboundCIDRs: "*", IncludeInboundPorts: "*", ExcludeInboundPorts: "15090,15021,15020",
	}
}

func TestIptablesRulesGolden(t *testing.T) {
	cases := map[string]func(*IptablesOptions){
		"default": func(*IptablesOptions) {},
		"include-cidrs": func(o *IptablesOptions) {
			o.IncludeOutboundCIDRs = "10.96.0.0/12, 172.16.0.5"
			o.ExcludeOutboundCIDRs = "10.96.0.10/32"
		},
		"exclude-cidrs": func(o *IptablesOptions) { o.ExcludeOutboundCIDRs = "169.254.169.254/32,192.168.0.0/16" },
		"inbound-ports": func(o *IptablesOptions) { o.IncludeInboundPorts = "8080,9090,15020"; o.ProxyGID = "1338" },
		"no-inbound":    func(o *IptablesOptions) { o.IncludeInboundPorts = "" },
		"no-outbound":   func(o *IptablesOptions) { o.IncludeOutboundCIDRs = "" },
		"outbound-ports": func(o *IptablesOptions) {
			o.ExcludeOutboundPorts = "3306,5432"
			o.IncludeOutboundPorts = "443"
			o.ExcludeInterfaces = "eth1"
		},
		"dual-stack":       func(o *IptablesOptions) { o.ExcludeOutboundCIDRs = "10.0.0.0/8,fd00::/8" },
		"custom-ports-uid": func(o *IptablesOptions) { o.ProxyPort = "16001"; o.InboundCapturePort = "16006"; o.ProxyUID = "2000" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			o := templateDefaults()
			mutate(&o)
			var out bytes.Buffer
			o.DryRun, o.Out = true, &out
			if err := RunIptables(o); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "iptables", name+".golden")
			if *update {
				if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./pkg/agent -update)", err)
			}
			if diff := diffRuleDumps(parseRuleDump(t, string(want)), parseRuleDump(t, out.String())); diff != "" {
				t.Errorf("rules differ from %s (-want +got):\n%s", path, diff)
			}
		})
	}
}

// ruleDump is a dry-run output understood as iptables-restore reads it: per binary and table, the
// chains it creates and its rules in order.
type ruleDump map[string][]string // "<binary> <table>" -> "-N ..."/"-A ..." lines

func parseRuleDump(t *testing.T, s string) ruleDump {
	t.Helper()
	d := ruleDump{}
	binary, table := "", ""
	for i, line := range strings.Split(s, "\n") {
		line = strings.Join(strings.Fields(line), " ")
		switch {
		case line == "":
		case strings.HasPrefix(line, "# "):
			binary, _, _ = strings.Cut(strings.TrimPrefix(line, "# "), " ")
		case strings.HasPrefix(line, "*"):
			table = strings.TrimSpace(strings.TrimPrefix(line, "*"))
		case line == "COMMIT":
			table = ""
		case strings.HasPrefix(line, "-N ") || strings.HasPrefix(line, "-A "):
			if binary == "" || table == "" {
				t.Fatalf("line %d: rule outside a table: %q", i+1, line)
			}
			d[binary+" "+table] = append(d[binary+" "+table], line)
		default:
			t.Fatalf("line %d: not an iptables-restore line: %q", i+1, line)
		}
	}
	return d
}

func diffRuleDumps(want, got ruleDump) string {
	var b strings.Builder
	keys := map[string]bool{}
	for k := range want {
		keys[k] = true
	}
	for k := range got {
		keys[k] = true
	}
	for k := range keys {
		w, g := want[k], got[k]
		for i := 0; i < max(len(w), len(g)); i++ {
			switch {
			case i >= len(g):
				fmt.Fprintf(&b, "%s rule %d:\n- %s\n", k, i+1, w[i])
			case i >= len(w):
				fmt.Fprintf(&b, "%s rule %d:\n+ %s\n", k, i+1, g[i])
			case w[i] != g[i]:
				fmt.Fprintf(&b, "%s rule %d:\n- %s\n+ %s\n", k, i+1, w[i], g[i])
			}
		}
	}
	return b.String()
}

func TestIptablesBadFlags(t *testing.T) {
	for name, mutate := range map[string]func(*IptablesOptions){
		"-x": func(o *IptablesOptions) { o.ExcludeOutboundCIDRs = "10.0.0.0/33" },
		"-i": func(o *IptablesOptions) { o.IncludeOutboundCIDRs = "10.0.0.0/8,cluster" },
		"-d": func(o *IptablesOptions) { o.ExcludeInboundPorts = "15020,http" },
		"-o": func(o *IptablesOptions) { o.ExcludeOutboundPorts = "70000" },
		"-p": func(o *IptablesOptions) { o.ProxyPort = "" },
		"-u": func(o *IptablesOptions) { o.ProxyUID = "istio-proxy" },
		"-m": func(o *IptablesOptions) { o.Mode = "TPROXY" },
		"-g": func(o *IptablesOptions) { o.ProxyGID = "proxy" },
	} {
		o := templateDefaults()
		mutate(&o)
		_, err := IptablesRules(o)
		if errs.KindOf(err) != errs.KindUsage || !strings.HasPrefix(err.Error(), name+" ") {
			t.Errorf("%s: got %v, want a usage error naming the flag", name, err)
		}
	}
}

// fakeRestore puts scripts named iptables-restore and ip6tables-restore on PATH that record their
// arguments and stdin, so applying is tested without touching the host's rules.
func fakeRestore(t *testing.T, binaries ...string) string {
	dir := t.TempDir()
	for _, b := range binaries {
		script := fmt.Sprintf("#!/bin/sh\necho \"$@\" > %[1]s/%[2]s.args\ncat > %[1]s/%[2]s.stdin\n", dir, b)
		if err := os.WriteFile(filepath.Join(dir, b), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return dir
}

func TestIptablesAppliesWithRestore(t *testing.T) {
	dir := fakeRestore(t, "iptables-restore", "ip6tables-restore")
	o := templateDefaults()
	o.ExcludeOutboundCIDRs = "fd00::/8"
	o.Out = &bytes.Buffer{}
	if err := RunIptables(o); err != nil {
		t.Fatal(err)
	}
	sets, err := IptablesRules(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sets {
		stdin, err := os.ReadFile(filepath.Join(dir, s.Binary+".stdin"))
		if err != nil {
			t.Fatalf("%s was not run: %v", s.Binary, err)
		}
		if string(stdin) != s.Rules {
			t.Errorf("%s got other rules on stdin:\n%s", s.Binary, stdin)
		}
		if args, _ := os.ReadFile(filepath.Join(dir, s.Binary+".args")); strings.TrimSpace(string(args)) != "--noflush" {
			t.Errorf("%s args %q, want --noflush", s.Binary, args)
		}
	}
	if len(sets) != 2 {
		t.Fatalf("an IPv6 range needs ip6tables-restore too; got %d rule sets", len(sets))
	}
}

func TestIptablesIPv4OnlySkipsIp6tables(t *testing.T) {
	dir := fakeRestore(t, "iptables-restore") // no ip6tables-restore: it must not be needed
	o := templateDefaults()
	o.Out = &bytes.Buffer{}
	if err := RunIptables(o); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "iptables-restore.stdin")); err != nil {
		t.Fatal("iptables-restore was not run")
	}
}

func TestIptablesMissingBinary(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	o := templateDefaults()
	o.Out = &bytes.Buffer{}
	err := RunIptables(o)
	if err == nil || !strings.Contains(err.Error(), "iptables-restore not found") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("got %v, want a one-line error naming iptables-restore", err)
	}
	// CNI's validation container applies nothing, so it needs no binary.
	o.SkipRuleApply, o.RunValidation = true, true
	if err := RunIptables(o); err != nil {
		t.Fatalf("--skip-rule-apply: %v", err)
	}
}

func TestIptablesRestoreFailure(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "iptables-restore"), []byte("#!/bin/sh\necho 'iptables-restore: line 3 failed' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	o := templateDefaults()
	o.Out = &bytes.Buffer{}
	err := RunIptables(o)
	if err == nil || !strings.Contains(err.Error(), "line 3 failed") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("got %v, want one line with iptables-restore's message", err)
	}
}

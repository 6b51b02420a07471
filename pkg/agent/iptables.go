package agent

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"

	"skiff.dev/skiff/pkg/errs"
)

// IptablesOptions are the istio-iptables flags the injected istio-init container passes
// (`skiff agent iptables -p 15001 -z 15006 -u 1337 -m REDIRECT -i ... -x ... -b ... -d ...`).
type IptablesOptions struct {
	ProxyPort            string // -p: Envoy's outbound capture port
	InboundCapturePort   string // -z: Envoy's inbound capture port
	ProxyUID             string // -u: Envoy's user, whose traffic is not captured again
	ProxyGID             string // -g: Envoy's group (default: the UID)
	Mode                 string // -m: only REDIRECT
	IncludeOutboundCIDRs string // -i: "*", or CIDRs to capture; empty captures no outbound traffic
	ExcludeOutboundCIDRs string // -x
	IncludeInboundPorts  string // -b: "*", or ports to capture; empty captures no inbound traffic
	ExcludeInboundPorts  string // -d
	IncludeOutboundPorts string // -q: ports captured even to excluded CIDRs
	ExcludeOutboundPorts string // -o
	ExcludeInterfaces    string // -c
	DryRun               bool
	// SkipRuleApply and RunValidation are the CNI validation container's flags: with CNI the node
	// plugin installs the rules, so nothing is applied.
	SkipRuleApply bool
	RunValidation bool
	Out           io.Writer
}

// Ruleset is the iptables-restore input for one address family.
type Ruleset struct {
	Binary string // iptables-restore or ip6tables-restore
	Rules  string
}

// RunIptables builds the rules and prints them (--dry-run) or applies them with iptables-restore.
func RunIptables(o IptablesOptions) error {
	sets, err := IptablesRules(o)
	if err != nil {
		return err
	}
	for _, s := range sets {
		switch {
		case o.DryRun:
			fmt.Fprintf(o.Out, "# %s --noflush\n%s", s.Binary, s.Rules)
		case o.SkipRuleApply:
		default:
			if err := restore(s); err != nil {
				return err
			}
		}
	}
	if o.SkipRuleApply && !o.DryRun {
		fmt.Fprintln(o.Out, "rules not applied (--skip-rule-apply): the CNI plugin captures the pod's traffic")
	}
	return nil
}

func restore(s Ruleset) error {
	path, err := exec.LookPath(s.Binary)
	if err != nil {
		return errs.Failure("%s not found in PATH: the init container image needs the iptables package", s.Binary)
	}
	cmd := exec.Command(path, "--noflush")
	cmd.Stdin = strings.NewReader(s.Rules)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return errs.Failure("%s: %v: %s", s.Binary, err, strings.TrimSpace(strings.ReplaceAll(out.String(), "\n", "; ")))
	}
	return nil
}

// Chains of Istio's REDIRECT mode.
const (
	chainInbound    = "ISTIO_INBOUND"
	chainInRedirect = "ISTIO_IN_REDIRECT"
	chainOutput     = "ISTIO_OUTPUT"
	chainRedirect   = "ISTIO_REDIRECT"
	// hbonePort is never captured: it is the mesh's tunnel port in Istio's ambient and sidecar interop.
	hbonePort = "15008"
	sshPort   = "22"
)

type family struct {
	binary, loopback, inboundPassthrough string
	v6                                   bool
}

var (
	ipv4 = family{binary: "iptables-restore", loopback: "127.0.0.1/32", inboundPassthrough: "127.0.0.6/32"}
	ipv6 = family{binary: "ip6tables-restore", loopback: "::1/128", inboundPassthrough: "::6/128", v6: true}
)

// IptablesRules is what istio-iptables installs in REDIRECT mode: inbound TCP to ISTIO_IN_REDIRECT
// (Envoy's inbound port) except excluded ports and SSH; outbound TCP to ISTIO_REDIRECT except Envoy's
// own traffic (owner UID/GID), loopback, excluded ports and CIDRs. Envoy's connections to the app
// over loopback from a non-127.0.0.1 address go back through inbound. IPv6 rules are added when the
// CIDR flags name an IPv6 range.
func IptablesRules(o IptablesOptions) ([]Ruleset, error) {
	p, err := parseIptables(o)
	if err != nil {
		return nil, err
	}
	sets := []Ruleset{{Binary: ipv4.binary, Rules: p.rules(ipv4)}}
	if p.hasV6 {
		sets = append(sets, Ruleset{Binary: ipv6.binary, Rules: p.rules(ipv6)})
	}
	return sets, nil
}

type iptablesPlan struct {
	o                                IptablesOptions
	includeAll                       bool
	includeCIDRs, excludeCIDRs       []netip.Prefix
	inboundAll                       bool
	inboundPorts, excludeInbound     []string
	includeOutPorts, excludeOutPorts []string
	interfaces                       []string
	hasV6                            bool
}

func parseIptables(o IptablesOptions) (*iptablesPlan, error) {
	if m := strings.ToUpper(firstNonEmpty(o.Mode, "REDIRECT")); m != "REDIRECT" {
		return nil, errs.Usage("-m %s: only REDIRECT interception is supported", o.Mode)
	}
	if err := checkPort("-p", o.ProxyPort); err != nil {
		return nil, err
	}
	if err := checkPort("-z", o.InboundCapturePort); err != nil {
		return nil, err
	}
	o.ProxyGID = firstNonEmpty(o.ProxyGID, o.ProxyUID)
	for _, id := range [][2]string{{"-u", o.ProxyUID}, {"-g", o.ProxyGID}} {
		if _, err := strconv.ParseUint(id[1], 10, 32); err != nil {
			return nil, errs.Usage("%s %q: want a numeric user or group ID", id[0], id[1])
		}
	}
	p := &iptablesPlan{o: o}
	var err error
	if strings.TrimSpace(o.IncludeOutboundCIDRs) == "*" {
		p.includeAll = true
	} else if p.includeCIDRs, err = parseCIDRs("-i", o.IncludeOutboundCIDRs); err != nil {
		return nil, err
	}
	if p.excludeCIDRs, err = parseCIDRs("-x", o.ExcludeOutboundCIDRs); err != nil {
		return nil, err
	}
	for _, c := range append(append([]netip.Prefix{}, p.includeCIDRs...), p.excludeCIDRs...) {
		p.hasV6 = p.hasV6 || c.Addr().Is6()
	}
	if strings.TrimSpace(o.IncludeInboundPorts) == "*" {
		p.inboundAll = true
	} else if p.inboundPorts, err = parsePorts("-b", o.IncludeInboundPorts); err != nil {
		return nil, err
	}
	if p.excludeInbound, err = parsePorts("-d", o.ExcludeInboundPorts); err != nil {
		return nil, err
	}
	if p.includeOutPorts, err = parsePorts("-q", o.IncludeOutboundPorts); err != nil {
		return nil, err
	}
	if p.excludeOutPorts, err = parsePorts("-o", o.ExcludeOutboundPorts); err != nil {
		return nil, err
	}
	p.interfaces = splitList(o.ExcludeInterfaces)
	return p, nil
}

func (p *iptablesPlan) rules(f family) string {
	var b strings.Builder
	add := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	o := p.o
	add("* nat")
	for _, c := range []string{chainInbound, chainRedirect, chainInRedirect, chainOutput} {
		add("-N %s", c)
	}
	add("-A %s -p tcp --dport %s -j RETURN", chainInbound, hbonePort)
	add("-A %s -p tcp -j REDIRECT --to-ports %s", chainRedirect, o.ProxyPort)
	add("-A %s -p tcp -j REDIRECT --to-ports %s", chainInRedirect, o.InboundCapturePort)

	for _, iface := range p.interfaces {
		add("-A PREROUTING -i %s -j RETURN", iface)
		add("-A OUTPUT -o %s -j RETURN", iface)
	}
	inbound := p.inboundAll || len(p.inboundPorts) > 0
	if inbound {
		add("-A PREROUTING -p tcp -j %s", chainInbound)
		if p.inboundAll {
			add("-A %s -p tcp --dport %s -j RETURN", chainInbound, sshPort)
			for _, port := range p.excludeInbound {
				add("-A %s -p tcp --dport %s -j RETURN", chainInbound, port)
			}
			add("-A %s -p tcp -j %s", chainInbound, chainInRedirect)
		} else {
			for _, port := range p.inboundPorts {
				if !contains(p.excludeInbound, port) {
					add("-A %s -p tcp --dport %s -j %s", chainInbound, port, chainInRedirect)
				}
			}
		}
	}

	add("-A OUTPUT -p tcp -j %s", chainOutput)
	for _, port := range p.excludeOutPorts {
		add("-A %s -p tcp --dport %s -j RETURN", chainOutput, port)
	}
	// Envoy's inbound passthrough connections to the app come from 127.0.0.6.
	add("-A %s -o lo -s %s -j RETURN", chainOutput, f.inboundPassthrough)
	for _, owner := range []string{"--uid-owner " + o.ProxyUID, "--gid-owner " + o.ProxyGID} {
		if inbound {
			// Envoy calling its own pod's IP over loopback: that is inbound traffic for the app.
			add("-A %s -o lo ! -d %s -p tcp ! --dport %s -m owner %s -j %s", chainOutput, f.loopback, hbonePort, owner, chainInRedirect)
		}
		add("-A %s -o lo -m owner ! %s -j RETURN", chainOutput, owner)
		add("-A %s -m owner %s -j RETURN", chainOutput, owner)
	}
	add("-A %s -d %s -j RETURN", chainOutput, f.loopback)
	for _, port := range p.includeOutPorts {
		add("-A %s -p tcp --dport %s -j %s", chainOutput, port, chainRedirect)
	}
	for _, c := range p.excludeCIDRs {
		if c.Addr().Is6() == f.v6 {
			add("-A %s -d %s -j RETURN", chainOutput, c)
		}
	}
	if p.includeAll {
		add("-A %s -j %s", chainOutput, chainRedirect)
	} else {
		for _, c := range p.includeCIDRs {
			if c.Addr().Is6() == f.v6 {
				add("-A %s -d %s -j %s", chainOutput, c, chainRedirect)
			}
		}
		add("-A %s -j RETURN", chainOutput)
	}
	add("COMMIT")
	return b.String()
}

func parseCIDRs(flag, list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range splitList(list) {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			addr, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, errs.Usage("%s %q: not a CIDR or IP address", flag, s)
			}
			pfx = netip.PrefixFrom(addr, addr.BitLen())
		}
		out = append(out, pfx.Masked())
	}
	return out, nil
}

func parsePorts(flag, list string) ([]string, error) {
	var out []string
	for _, s := range splitList(list) {
		if err := checkPort(flag, s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func checkPort(flag, s string) error {
	if n, err := strconv.ParseUint(s, 10, 16); err != nil || n == 0 {
		return errs.Usage("%s %q: not a port number", flag, s)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

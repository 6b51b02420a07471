// Package check is `skiff check`: a health report of an installed mesh in the style of `linkerd check`.
// Every check has a stable name (also its anchor in docs/checks.md), a group, and a status; a failure
// carries a one-line hint. `--pre` runs the pre-install checks of pkg/precheck instead.
package check

import (
	"context"
	"io"
	"time"

	"skiff.dev/skiff/pkg/config"
	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/install"
	"skiff.dev/skiff/pkg/kube"
	"skiff.dev/skiff/pkg/precheck"
)

// Status is a check's outcome; the strings are part of the -o json document.
type Status string

const (
	StatusOK      Status = "ok"
	StatusWarning Status = "warning"
	StatusError   Status = "error"
)

// DocsPage is where every check's anchor lives.
const DocsPage = "docs/checks.md"

// Result is one check's outcome, one line of the report and one element of the JSON document.
type Result struct {
	Name    string `json:"name"`
	Group   string `json:"group"`
	Status  Status `json:"status"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
	Docs    string `json:"docs"`
}

// Options configures `skiff check`.
type Options struct {
	// Pre runs the pre-install checks (pkg/precheck) instead of checking an installation.
	Pre bool
	// Profile is what --pre checks the permissions for.
	Profile install.ProfileOptions
	// Output is "" (lines) or "json".
	Output string
	Out    io.Writer
	// Now is the clock certificate expiry is judged against; zero means time.Now.
	Now time.Time
}

// Run connects to the cluster g points at and runs the checks.
func Run(ctx context.Context, g config.Global, o Options) error {
	if o.Output != "" && o.Output != "json" {
		return errs.Usage("unknown output format %q (want json, or nothing for lines)", o.Output)
	}
	if o.Pre && o.Output != "" {
		return errs.Usage("--pre prints lines only; -o json reports the checks of an installation")
	}
	c, err := kube.New(g)
	if err != nil {
		return err
	}
	if err := c.Ping(ctx); err != nil {
		return err
	}
	if o.Pre {
		return precheck.Check(ctx, c, precheck.Options{Profile: o.Profile, Out: o.Out})
	}
	results := Checks(ctx, c, g.MeshNamespace, o.now())
	return Report(o.Out, o.Output, results)
}

func (o Options) now() time.Time {
	if o.Now.IsZero() {
		return time.Now()
	}
	return o.Now
}

// Checks runs every installation check against the mesh in namespace meshNS. API errors become failed
// checks rather than aborting, so one broken part does not hide the state of the others.
func Checks(ctx context.Context, c *kube.Clients, meshNS string, now time.Time) []Result {
	in := &inspector{c: c, ns: meshNS, now: now}
	var out []Result
	out = append(out, in.controllerReady(ctx))
	out = append(out, in.webhooks(ctx)...)
	out = append(out, in.crdsServed(ctx))
	out = append(out, in.rootCertExpiry(ctx))
	out = append(out, in.versionSkew(ctx))
	out = append(out, in.proxiesSynced(ctx))
	return out
}

// inspector holds what every check needs: the clients, the mesh namespace and the clock.
type inspector struct {
	c   *kube.Clients
	ns  string
	now time.Time
}

// result builds a Result with its docs anchor filled in.
func result(group, name string, s Status, msg, hint string) Result {
	r := Result{Name: name, Group: group, Status: s, Message: msg, Docs: DocsPage + "#" + name}
	if s != StatusOK {
		r.Hint = hint
	}
	return r
}

// Package precheck checks that a cluster can take a Skiff installation before anything is applied:
// a supported Kubernetes version, the permissions install needs, and no Istio installation in the way.
package precheck

import (
	"context"
	"io"

	"skiff.dev/skiff/pkg/config"
	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/install"
	"skiff.dev/skiff/pkg/kube"
	"skiff.dev/skiff/pkg/ui"
)

// Options configures `skiff x precheck`.
type Options struct {
	// Profile is the profile the install will use; the permission check covers exactly what it renders.
	Profile install.ProfileOptions
	Out     io.Writer
}

// Result is one check's outcome.
type Result struct {
	Name    string
	OK      bool
	Message string
	Hint    string // what to do about a failure
}

// Run connects to the cluster g points at and runs the checks.
func Run(ctx context.Context, g config.Global, o Options) error {
	c, err := kube.New(g)
	if err != nil {
		return err
	}
	if err := c.Ping(ctx); err != nil {
		return err
	}
	return Check(ctx, c, o)
}

// Check runs every check, prints one line each, and fails when any check fails.
func Check(ctx context.Context, c *kube.Clients, o Options) error {
	prof, err := install.LoadProfile(o.Profile)
	if err != nil {
		return err
	}
	manifests, err := install.Render(prof)
	if err != nil {
		return err
	}
	results := []Result{
		checkVersion(c),
		checkPermissions(ctx, c, manifests),
		checkExistingIstio(ctx, c),
	}
	p := ui.NewPrinter(o.Out)
	failed := 0
	for _, r := range results {
		if r.OK {
			p.Success("%s: %s", r.Name, r.Message)
			continue
		}
		failed++
		p.Failure("%s: %s", r.Name, r.Message)
		if r.Hint != "" {
			p.Plain("  %s", p.Faint("hint: "+r.Hint))
		}
	}
	if failed > 0 {
		return errs.Failure("%d of %d checks failed; the cluster is not ready for 'skiff install'", failed, len(results))
	}
	return nil
}

package install

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"skiff.dev/skiff/pkg/config"
	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/kube"
	"skiff.dev/skiff/pkg/ui"
)

// DefaultTimeout bounds the wait for readiness (and deletion, for uninstall).
const DefaultTimeout = 5 * time.Minute

// Options configures `skiff install`.
type Options struct {
	Profile ProfileOptions
	Yes     bool          // do not ask for confirmation
	DryRun  bool          // have the API server validate everything (server-side dry run); change nothing
	Wait    bool          // wait until CRDs are established and Deployments available
	Timeout time.Duration // total time to wait for readiness; 0 means DefaultTimeout
	Streams ui.Streams
}

// Run renders the profile, then connects to the cluster g points at and installs; bad input is reported
// before the cluster is contacted.
func Run(ctx context.Context, g config.Global, o Options) error {
	pl, err := render(o.Profile)
	if err != nil {
		return err
	}
	c, err := connect(ctx, g)
	if err != nil {
		return err
	}
	return installPlan(ctx, c, o, pl)
}

// connect builds the clients and checks the API server answers, so an unreachable cluster is one line.
func connect(ctx context.Context, g config.Global) (*kube.Clients, error) {
	c, err := kube.New(g)
	if err != nil {
		return nil, err
	}
	return c, c.Ping(ctx)
}

// Install renders the profile and applies it component by component with server-side apply, waits for
// each component to be ready, then prunes what an earlier install of the same installation created and
// this profile no longer has. A failure names the components that were and were not applied.
func Install(ctx context.Context, c *kube.Clients, o Options) error {
	pl, err := render(o.Profile)
	if err != nil {
		return err
	}
	return installPlan(ctx, c, o, pl)
}

// plan is a rendered profile: what to apply, and the names to report and to find earlier installs by.
type plan struct {
	profile      string // the profile's name, for messages
	installation string // the LabelInstallation value every object carries
	manifests    []Manifest
}

// render loads and renders a profile.
func render(o ProfileOptions) (plan, error) {
	prof, err := LoadProfile(o)
	if err != nil {
		return plan{}, err
	}
	manifests, err := Render(prof)
	if err != nil {
		return plan{}, err
	}
	name := prof.Spec.Profile
	if name == "" {
		name = o.Profile
	}
	return plan{profile: name, installation: prof.Installation(), manifests: manifests}, nil
}

// installPlan is Install after rendering: confirm, apply, wait, prune.
func installPlan(ctx context.Context, c *kube.Clients, o Options, pl plan) error {
	// What to prune is known before anything changes, so the confirmation can say so.
	stale, err := pruneCandidates(ctx, c, pl.manifests, pl.installation)
	if err != nil {
		return errs.Failure("finding what an earlier install left that this profile no longer has: %v (nothing was changed)", err)
	}
	if !o.DryRun {
		q := fmt.Sprintf("Install the %s profile (%s) into the cluster at %s", pl.profile, titles(componentsOf(pl.manifests)), c.Config.Host)
		if len(stale) > 0 {
			q += fmt.Sprintf(", removing %s an earlier install created that it no longer has", count(len(stale), "object"))
		}
		if err := confirm(o.Streams, o.Yes, q+"?"); err != nil {
			return err
		}
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	r := &run{c: c, o: o, p: ui.NewPrinter(o.Streams.Out), timeout: timeout, deadline: time.Now().Add(timeout)}
	if err := r.applyAll(ctx, pl.manifests); err != nil {
		return err
	}
	if err := r.prune(ctx, stale); err != nil {
		return err
	}
	if o.DryRun {
		r.p.Success("Dry run of the %s profile complete: nothing was changed", pl.profile)
		return nil
	}
	r.p.Success("Installation complete")
	return nil
}

// run is one install's state: the clients, the printer and the readiness deadline shared by all components.
type run struct {
	c        *kube.Clients
	o        Options
	p        *ui.Printer
	timeout  time.Duration
	deadline time.Time
}

func (r *run) applyAll(ctx context.Context, manifests []Manifest) error {
	a := newApplier(r.c, r.o.DryRun)
	var done []Component
	var unverified []string
	defer func() {
		if len(unverified) > 0 {
			r.p.Warning("%s could not be checked (%s): they go into a namespace or are of a kind that this install creates first; a dry run after installing checks them",
				count(len(unverified), "object"), abbreviate(unverified, 2))
		}
	}()
	for i, m := range manifests {
		title := componentTitle(m.Component)
		notApplied := componentsOf(manifests[i+1:])
		fail := func(what string, err error) error {
			r.p.Failure("%s %s", title, what)
			return errs.Failure("%s: %v (fully applied: %s; not applied: %s)", title, err, titles(done), titles(notApplied))
		}
		res, err := a.applyManifest(ctx, m)
		if err != nil {
			notApplied = append([]Component{m.Component}, notApplied...)
			if res.applied > 0 {
				return fail(fmt.Sprintf("failed after %d of %d objects", res.applied, len(m.Objects)), err)
			}
			return fail("failed", err)
		}
		if r.o.DryRun {
			r.dryRunLine(title, res)
			unverified = append(unverified, res.unverified...)
			continue
		}
		// Later objects may be custom resources of these CRDs; the server serves them once established.
		if len(res.crds) > 0 {
			if err := waitReady(ctx, r.c, res.crds, r.deadline); err != nil {
				return fail("applied but its CRDs are not established", r.notReady(err))
			}
			r.c.Mapper.Reset()
		}
		done = append(done, m.Component)
		if r.o.Wait {
			if waiting := waitables(m.Objects); len(waiting) > 0 {
				r.p.Step("Waiting for %s to be ready: %s", title, abbreviate(waiting, 3))
				if err := waitReady(ctx, r.c, m.Objects, r.deadline); err != nil {
					done = done[:len(done)-1]
					return fail("applied but not ready", r.notReady(err))
				}
			}
		}
		r.p.Success("%s installed", title)
	}
	return nil
}

// dryRunLine reports one component of a dry run in one line.
func (r *run) dryRunLine(title string, res applyResult) {
	if len(res.unverified) == 0 {
		r.p.Success("%s: %s accepted by the API server (dry run)", title, count(res.applied, "object"))
		return
	}
	r.p.Success("%s: %d accepted by the API server, %d not checkable yet (dry run)", title, res.applied, len(res.unverified))
}

// notReady adds the hint a timeout needs; other errors pass through.
func (r *run) notReady(err error) error {
	if nr, ok := err.(*notReadyError); ok {
		if nr.namespace != "" {
			return fmt.Errorf("%w; see 'kubectl -n %s get pods', or allow more than --timeout=%s", err, nr.namespace, r.timeout)
		}
		return fmt.Errorf("%w; allow more than --timeout=%s", err, r.timeout)
	}
	return err
}

// prune deletes what an earlier install of this installation created and this one no longer has.
func (r *run) prune(ctx context.Context, stale []*unstructured.Unstructured) error {
	for i, o := range stale {
		if err := deleteObject(ctx, r.c, o, r.o.DryRun); err != nil {
			return errs.Failure("all components applied, but pruning %s failed: %s (%d of %d stale objects removed)", describe(o), explain(err), i, len(stale))
		}
	}
	if len(stale) > 0 {
		verb := "Removed"
		if r.o.DryRun {
			verb = "Would remove"
		}
		r.p.Success("%s %s no longer in the profile: %s", verb, count(len(stale), "object"), abbreviate(describeAll(stale), 5))
	}
	return nil
}

func waitables(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, o := range objs {
		if waitsFor(o) && o.GroupVersionKind().GroupKind() != gkCRD {
			out = append(out, describe(o))
		}
	}
	return out
}

func describeAll(objs []*unstructured.Unstructured) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = describe(o)
	}
	return out
}

// count says "1 object", "2 objects".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// abbreviate lists at most n items and says how many more there are, keeping progress lines short.
func abbreviate(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}

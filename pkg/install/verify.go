package install

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"skiff.dev/skiff/pkg/config"
	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/kube"
	"skiff.dev/skiff/pkg/ui"
)

// VerifyOptions configures `skiff verify-install`.
type VerifyOptions struct {
	Profile ProfileOptions
	Streams ui.Streams
}

// RunVerify renders the profile, then connects to the cluster g points at and verifies the installation.
func RunVerify(ctx context.Context, g config.Global, o VerifyOptions) error {
	pl, err := render(o.Profile)
	if err != nil {
		return err
	}
	c, err := connect(ctx, g)
	if err != nil {
		return err
	}
	return verifyPlan(ctx, c, o.Streams, pl)
}

// Verify compares the cluster with the rendered profile and reports every missing or drifted object,
// and every stale one (created by an earlier install of the installation, no longer in the profile).
// Drift is what `kubectl diff` would show: the object as a server-side dry-run apply of the manifest would
// leave it, compared with the live object. Defaults the server fills in are on both sides, so they are
// never drift; fields the manifest sets and someone changed are.
func Verify(ctx context.Context, c *kube.Clients, o VerifyOptions) error {
	pl, err := render(o.Profile)
	if err != nil {
		return err
	}
	return verifyPlan(ctx, c, o.Streams, pl)
}

func verifyPlan(ctx context.Context, c *kube.Clients, streams ui.Streams, pl plan) error {
	p := ui.NewPrinter(streams.Out)
	var rows [][]string
	total := 0
	for _, m := range pl.manifests {
		for _, obj := range m.Objects {
			total++
			status, detail, err := verifyObject(ctx, c, obj)
			if err != nil {
				return errs.Failure("verifying %s: %s", describe(obj), explain(err))
			}
			if status != "" {
				rows = append(rows, []string{componentTitle(m.Component), describe(obj), p.Severity(status), detail})
			}
		}
	}
	// What an earlier install of this installation created and the profile no longer has.
	stale, err := pruneCandidates(ctx, c, pl.manifests, pl.installation)
	if err != nil {
		return errs.Failure("verifying: %v", err)
	}
	for _, o := range stale {
		rows = append(rows, []string{componentTitle(Component(o.GetLabels()[LabelComponent])), describe(o), p.Severity("stale"), "not in the profile; 'skiff install' prunes it"})
	}
	if len(rows) == 0 {
		p.Success("All %d objects of the %s profile are installed and match", total, pl.profile)
		return nil
	}
	p.Table([]string{"COMPONENT", "OBJECT", "STATUS", "DETAIL"}, rows)
	return errs.Failure("%d of %d objects of the %s profile are missing or drifted, %d stale (run 'skiff install' to repair)",
		len(rows)-len(stale), total, pl.profile, len(stale))
}

// verifyObject returns "missing" or "drifted" with a detail, or "" when obj matches the cluster.
func verifyObject(ctx context.Context, c *kube.Clients, obj *unstructured.Unstructured) (status, detail string, err error) {
	ri, err := resourceFor(c, obj)
	if meta.IsNoMatchError(err) {
		return "missing", explain(err), nil
	}
	if err != nil {
		return "", "", err
	}
	live, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "missing", "", nil
	}
	if err != nil {
		return "", "", err
	}
	// Most objects match field for field; only when they do not is the server asked, since a difference
	// may be its normalisation (a quantity "1000m" stored as "1") rather than drift.
	if contains(live.Object, obj.Object) {
		return "", "", nil
	}
	want, err := ri.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true, DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		return "", "", err
	}
	if d := drift(want.Object, live.Object); len(d) > 0 {
		return "drifted", abbreviate(d, 2), nil
	}
	return "", "", nil
}

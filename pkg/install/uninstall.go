package install

import (
	"context"
	"fmt"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"skiff.dev/skiff/pkg/config"
	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/kube"
	"skiff.dev/skiff/pkg/ui"
)

// UninstallOptions configures `skiff uninstall`.
type UninstallOptions struct {
	Installation string        // the installation to remove (its revision); empty means "default"
	Purge        bool          // also remove the CRDs, and with them every Istio resource in the cluster
	Yes          bool          // do not ask for confirmation
	Timeout      time.Duration // how long to wait for the objects to disappear; 0 means DefaultTimeout
	Streams      ui.Streams
}

// RunUninstall connects to the cluster g points at and uninstalls.
func RunUninstall(ctx context.Context, g config.Global, o UninstallOptions) error {
	c, err := connect(ctx, g)
	if err != nil {
		return err
	}
	return Uninstall(ctx, c, o)
}

// Uninstall removes exactly the objects an install created, found by their labels, in the reverse of
// install order, and waits for them to be gone. CRDs stay unless Purge: they hold the users' mesh
// configuration. A namespace Skiff created is removed only when nothing but Skiff's objects was in it.
func Uninstall(ctx context.Context, c *kube.Clients, o UninstallOptions) error {
	p := ui.NewPrinter(o.Streams.Out)
	installation := o.Installation
	if installation == "" {
		installation = "default"
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	objs, terminating, err := findInstallation(ctx, c, installation)
	if err != nil {
		return err
	}
	if len(terminating) > 0 {
		p.Warning("Already terminating, left to the cluster: %s", abbreviate(terminating, 3))
	}
	if len(objs) == 0 {
		p.Success("Nothing to uninstall: no objects labelled %s", installationSelector(installation))
		return nil
	}
	sortForDeletion(objs)
	var crds, namespaces, rest []*unstructured.Unstructured
	for _, obj := range objs {
		switch obj.GroupVersionKind().GroupKind() {
		case gkCRD:
			crds = append(crds, obj)
		case gkNamespace:
			namespaces = append(namespaces, obj)
		default:
			rest = append(rest, obj)
		}
	}
	q := fmt.Sprintf("Remove Skiff installation %q (%d objects) from the cluster at %s?", installation, len(rest)+len(namespaces), c.Config.Host)
	if o.Purge {
		q = fmt.Sprintf("Remove Skiff installation %q (%d objects) AND its %d CRDs, deleting every Istio resource in the cluster, from %s?",
			installation, len(rest)+len(namespaces), len(crds), c.Config.Host)
	}
	if err := confirm(o.Streams, o.Yes, q); err != nil {
		return err
	}
	u := &uninstaller{c: c, p: p, deadline: time.Now().Add(timeout)}
	for _, comp := range slices.Backward(Components) {
		if err := u.removeComponent(ctx, comp, rest); err != nil {
			return err
		}
	}
	// Objects whose component label names no component (edited by hand, or from a newer skiff).
	var unknown []*unstructured.Unstructured
	for _, o := range rest {
		if !slices.Contains(Components, Component(o.GetLabels()[LabelComponent])) {
			unknown = append(unknown, o)
		}
	}
	if err := u.removeComponent(ctx, "", unknown); err != nil {
		return err
	}
	var deletedNamespaces []*unstructured.Unstructured
	for _, ns := range namespaces {
		deleted, err := u.deleteNamespace(ctx, ns)
		if err != nil {
			return err
		}
		if deleted {
			deletedNamespaces = append(deletedNamespaces, ns)
		}
	}
	if !o.Purge {
		if len(crds) > 0 {
			p.Warning("Kept %d CustomResourceDefinitions: they hold your mesh configuration (VirtualServices, ...); 'skiff uninstall --purge' removes them", len(crds))
		}
	} else if len(crds) > 0 {
		if err := u.remove(ctx, crds); err != nil {
			return errs.Failure("removing CRDs: %v (everything else was removed)", err)
		}
		p.Success("Removed %d CustomResourceDefinitions", len(crds))
	}
	// Namespaces last: they may take the longest, and on a cluster without a namespace controller forever.
	for _, ns := range deletedNamespaces {
		if err := u.awaitNamespace(ctx, ns); err != nil {
			return err
		}
	}
	p.Success("Uninstall complete")
	return nil
}

// findInstallation lists the objects of an installation, including instances of its own CRDs. Objects
// already being deleted (a namespace an earlier uninstall left terminating) are returned apart: they
// are the cluster's to finish, and deleting them again would only wait for the same thing.
func findInstallation(ctx context.Context, c *kube.Clients, installation string) (objs []*unstructured.Unstructured, terminating []string, err error) {
	objs, err = listManaged(ctx, c, managedKinds(), installationSelector(installation))
	if err != nil {
		return nil, nil, errs.Failure("finding Skiff's objects: %v", err)
	}
	if own := withCRDKinds(nil, objs); len(own) > 0 {
		crs, err := listManaged(ctx, c, own, installationSelector(installation))
		if err != nil {
			return nil, nil, errs.Failure("finding Skiff's objects: %v", err)
		}
		objs = append(objs, crs...)
	}
	objs = slices.DeleteFunc(objs, func(o *unstructured.Unstructured) bool {
		if o.GetDeletionTimestamp() != nil {
			terminating = append(terminating, describe(o))
			return true
		}
		return false
	})
	return objs, terminating, nil
}

type uninstaller struct {
	c        *kube.Clients
	p        *ui.Printer
	deadline time.Time
	done     []Component
}

// removeComponent removes the objects of comp among objs; comp "" removes all of objs.
func (u *uninstaller) removeComponent(ctx context.Context, comp Component, objs []*unstructured.Unstructured) error {
	var mine []*unstructured.Unstructured
	for _, o := range objs {
		if comp == "" || Component(o.GetLabels()[LabelComponent]) == comp {
			mine = append(mine, o)
		}
	}
	if len(mine) == 0 {
		return nil
	}
	if err := u.remove(ctx, mine); err != nil {
		u.p.Failure("Removing %s failed", componentTitle(comp))
		return errs.Failure("removing %s: %v (fully removed: %s)", componentTitle(comp), err, titles(u.done))
	}
	u.done = append(u.done, comp)
	u.p.Success("Removed %s (%s)", componentTitle(comp), count(len(mine), "object"))
	return nil
}

// remove deletes objs and waits until the API server no longer has them.
func (u *uninstaller) remove(ctx context.Context, objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		if err := deleteObject(ctx, u.c, o, false); err != nil {
			return fmt.Errorf("%s: %s", describe(o), explain(err))
		}
	}
	return waitGone(ctx, u.c, objs, u.deadline)
}

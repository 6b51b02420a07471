package dashboard

import (
	"context"
	"fmt"
	"io"
	"strings"

	"skiff.dev/skiff/pkg/config"
	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/kube"
	"skiff.dev/skiff/pkg/ui"
)

// Options configures `skiff dashboard`.
type Options struct {
	Global  config.Global
	Streams ui.Streams
	Addon   string // a key of Addons()
	Pod     string // envoy: the pod; others: optional explicit pod
	// Namespace overrides where to look: the mesh namespace for addons, the current namespace for envoy.
	Namespace string
	Selector  string // overrides the addon's label selector
	Port      int    // local port; 0 picks a free one
	Address   string // local address to listen on
	Browser   bool
	// Ready, when set, is called with the URL once forwarding works (tests use it instead of a browser).
	Ready func(url string)
}

// Run finds the addon's pod, forwards a local port to it, prints the URL, opens the browser, and stays until
// ctx is cancelled (Ctrl-C).
func Run(ctx context.Context, o Options) error {
	addon, ok := Addons()[o.Addon]
	if !ok {
		return errs.Usage("unknown dashboard %q (choose one of: %s)", o.Addon, strings.Join(AddonNames(), ", "))
	}
	if addon.Selector == "" && o.Pod == "" {
		return errs.Usage("the %s dashboard needs a pod name: skiff dashboard %s <pod> [-n namespace]", addon.Name, addon.Name)
	}
	c, err := kube.New(o.Global)
	if err != nil {
		return err
	}
	ns := o.Namespace
	if ns == "" {
		ns = c.Namespace
		if addon.InMeshNamespace {
			ns = o.Global.MeshNamespace
		}
	}
	if err := c.Ping(ctx); err != nil {
		return err
	}
	selector := addon.Selector
	if o.Selector != "" {
		selector = o.Selector
	}
	pod, err := resolvePod(ctx, c, addon, ns, o.Pod, selector)
	if err != nil {
		return err
	}
	logs := io.Discard
	if o.Global.Verbosity > 0 {
		logs = o.Streams.Err
	}
	fw, err := StartForward(c.Config, ns, pod, o.Address, o.Port, addon.Port, logs)
	if err != nil {
		return err
	}
	defer fw.Close()

	url := fmt.Sprintf("http://%s%s", joinHostPort(o.Address, fw.LocalPort), addon.Path)
	p := ui.NewPrinter(o.Streams.Out)
	p.Success("%s is at %s (pod %s/%s); press Ctrl-C to stop", addon.Name, p.Bold(url), ns, pod)
	if o.Ready != nil {
		o.Ready(url)
	}
	if o.Browser {
		if err := openBrowser(url); err != nil {
			ui.NewPrinter(o.Streams.Err).Warning("could not open a browser (%v); open %s yourself", err, url)
		}
	}
	go func() {
		<-ctx.Done()
		fw.Close()
	}()
	if err := fw.Wait(); err != nil && ctx.Err() == nil {
		return errs.Failure("port-forward to %s/%s stopped: %s", ns, pod, firstLine(err.Error()))
	}
	return nil
}

func resolvePod(ctx context.Context, c *kube.Clients, a Addon, ns, name, selector string) (string, error) {
	if name != "" {
		p, err := getPod(ctx, c.Typed, ns, name)
		if err != nil {
			return "", err
		}
		return p.Name, nil
	}
	p, err := FindAddonPod(ctx, c.Typed, a, ns, selector)
	if err != nil {
		return "", err
	}
	return p.Name, nil
}

func joinHostPort(addr string, port int) string {
	if strings.Contains(addr, ":") {
		return fmt.Sprintf("[%s]:%d", addr, port)
	}
	return fmt.Sprintf("%s:%d", addr, port)
}

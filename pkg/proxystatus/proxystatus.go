// Package proxystatus is `skiff proxy-status`: it reads the controller's /debug/syncz through a
// port-forward to the istiod pod and shows, per connected proxy and xDS type, whether the proxy applied
// the newest configuration, like `istioctl proxy-status`.
package proxystatus

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"skiff.dev/skiff/pkg/config"
	"skiff.dev/skiff/pkg/dashboard"
	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/kube"
	"skiff.dev/skiff/pkg/ui"
	"skiff.dev/skiff/pkg/xds"
)

// MonitoringPort is the controller's port serving /debug/syncz.
const MonitoringPort = 15014

// Output formats.
const (
	OutputShort = "short"
	OutputJSON  = "json"
)

// Options configures `skiff proxy-status`.
type Options struct {
	Global  config.Global
	Streams ui.Streams
	// Proxy selects one proxy for the detail view: its node ID, pod.namespace, or a pod name (in
	// Global.Namespace, or in any namespace when that is unambiguous). Empty lists every proxy.
	Proxy  string
	Output string // OutputShort (default) or OutputJSON
}

// controllerAddon is how the controller's pod is found, and what to say when it is missing.
func controllerAddon() dashboard.Addon {
	return dashboard.Addon{Name: "the controller (istiod)", Selector: "app=istiod", Port: MonitoringPort, InMeshNamespace: true,
		Hint: "install the control plane with 'skiff install'"}
}

// Run reads the status from every ready controller replica and prints it. STALE proxies are reported, not failed: the command exits non-zero
// only when it cannot read the status (no cluster, no ready controller, an unknown proxy).
func Run(ctx context.Context, o Options) error {
	if o.Output == "" {
		o.Output = OutputShort
	}
	if o.Output != OutputShort && o.Output != OutputJSON {
		return errs.Usage("unknown output %q (choose short or json)", o.Output)
	}
	c, err := kube.New(o.Global)
	if err != nil {
		return err
	}
	if err := c.Ping(ctx); err != nil {
		return err
	}
	doc, err := readAll(ctx, c, o)
	if err != nil {
		return err
	}
	if o.Proxy != "" {
		p, err := find(doc.Proxies, o.Proxy, c.Namespace)
		if err != nil {
			return err
		}
		doc.Proxies = []xds.ProxySync{p}
		if o.Output == OutputShort {
			printDetail(ui.NewPrinter(o.Streams.Out), p, time.Now())
			return nil
		}
	}
	if o.Output == OutputJSON {
		return writeJSON(o.Streams.Out, doc)
	}
	printTable(ui.NewPrinter(o.Streams.Out), doc)
	return nil
}

// readAll reads every replica for the command, printing replicas it cannot read as warnings.
func readAll(ctx context.Context, c *kube.Clients, o Options) (*xds.Syncz, error) {
	logs := io.Discard
	if o.Global.Verbosity > 0 {
		logs = o.Streams.Err
	}
	warn := ui.NewPrinter(o.Streams.Err)
	return ReadAll(ctx, c, o.Global.MeshNamespace, logs, func(err error) { warn.Warning("%v", err) })
}

// ReadAll reads /debug/syncz from every ready controller replica in ns, as each knows only its own proxies,
// and merges them. A replica that cannot be read goes to unread; it is an error only when none can be read.
// `skiff check` shares it, so both commands see the same proxies.
func ReadAll(ctx context.Context, c *kube.Clients, ns string, logs io.Writer, unread func(error)) (*xds.Syncz, error) {
	a := controllerAddon()
	pods, err := dashboard.FindAddonPods(ctx, c.Typed, a, ns, a.Selector)
	if err != nil {
		return nil, err
	}
	merged := &xds.Syncz{Proxies: []xds.ProxySync{}}
	var names []string
	var firstErr error
	for _, pod := range pods {
		doc, err := readOne(ctx, c, ns, pod.Name, logs)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			unread(err)
			continue
		}
		names = append(names, pod.Name)
		// The pod forwarded to is the controller these proxies are connected to, whatever its hostname.
		for _, p := range doc.Proxies {
			p.Controller = pod.Name
			merged.Proxies = append(merged.Proxies, p)
		}
	}
	if len(names) == 0 {
		return nil, firstErr
	}
	merged.Controller = strings.Join(names, ",")
	sort.SliceStable(merged.Proxies, func(i, j int) bool { return merged.Proxies[i].ID < merged.Proxies[j].ID })
	return merged, nil
}

// readOne port-forwards to one controller pod's monitoring port and reads its document.
func readOne(ctx context.Context, c *kube.Clients, ns, pod string, logs io.Writer) (*xds.Syncz, error) {
	fw, err := dashboard.StartForward(c.Config, ns, pod, "127.0.0.1", 0, MonitoringPort, logs)
	if err != nil {
		return nil, err
	}
	defer fw.Close()
	return fetch(ctx, "http://127.0.0.1:"+strconv.Itoa(fw.LocalPort)+xds.SynczPath, ns+"/"+pod)
}

// fetch GETs and parses the Syncz document; controller names the pod in errors.
func fetch(ctx context.Context, url, controller string) (*xds.Syncz, error) {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, errs.Failure("%v", err)
	}
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		return nil, errs.Failure("reading %s from %s port %d: %v", xds.SynczPath, controller, MonitoringPort, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, errs.Failure("%s does not serve %s: the controller is an older release than this skiff; upgrade it", controller, xds.SynczPath)
	case resp.StatusCode != http.StatusOK:
		return nil, errs.Failure("reading %s from %s: %s", xds.SynczPath, controller, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, errs.Failure("reading %s from %s: %v", xds.SynczPath, controller, err)
	}
	doc, err := xds.ParseSyncz(body)
	if err != nil {
		return nil, errs.Failure("%s from %s: %v", xds.SynczPath, controller, err)
	}
	return doc, nil
}

// find picks the proxy named by arg: a node ID, pod.namespace, or a pod name (preferring namespace).
func find(proxies []xds.ProxySync, arg, namespace string) (xds.ProxySync, error) {
	var byPod []xds.ProxySync
	for _, p := range proxies {
		switch {
		case p.ID == arg, p.Pod != "" && p.Pod+"."+p.Namespace == arg:
			return p, nil
		case p.Pod == arg && p.Namespace == namespace:
			return p, nil
		case p.Pod == arg:
			byPod = append(byPod, p)
		}
	}
	switch len(byPod) {
	case 1:
		return byPod[0], nil
	case 0:
		return xds.ProxySync{}, errs.Failure("no proxy %s is connected to the controller (run 'skiff proxy-status' to list them)", arg)
	}
	return xds.ProxySync{}, errs.Usage("pod %s is in several namespaces (%s, %s, ...); name it as pod.namespace", arg, byPod[0].Namespace, byPod[1].Namespace)
}

// name is how a proxy is shown: pod.namespace, as istioctl does, or the node ID when the pod is unknown.
func name(p xds.ProxySync) string {
	if p.Pod != "" && p.Namespace != "" {
		return p.Pod + "." + p.Namespace
	}
	return p.ID
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// age says how long ago t was, to the second; "-" when never.
func age(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return fmt.Sprintf("%s ago", now.Sub(t).Truncate(time.Second))
}

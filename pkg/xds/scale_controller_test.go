package xds

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	istioclient "istio.io/client-go/pkg/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	k8sresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"skiff.dev/skiff/internal/testenv"
	"skiff.dev/skiff/pkg/install"
	"skiff.dev/skiff/pkg/model"
)

// TestScaleControllerProcess measures the whole `skiff controller` process — informers, CA, webhooks and
// xDS — rather than the xDS server alone: largeInput(1000)'s objects are created in a real kube-apiserver,
// the controller runs as its own process, the simulated sidecars (scale_process_test.go) connect to its
// plaintext xDS port from another process, and one VirtualService change goes through the API server.
// It reports the controller's VmHWM after connecting and after the push, and the push's wall time.
// hack/bench-controller.sh runs it; it is skipped unless SKIFF_BENCH_CONTROLLER=1.
//
//	SKIFF_BENCH_PROXIES               connected proxies (default 2000)
//	SKIFF_BENCH_REPLICAS              proxies per workload (default 200)
//	SKIFF_BENCH_CONTROLLER_MEMLIMITS  the controller's memory setting per run, comma-separated: a GOMEMLIMIT
//	                                  value, "off" for none, or "container=300Mi" for a container limit
//	                                  passed as the installer does (MEMORY_LIMIT; the controller takes 3/4)
//	                                  (default "container=300Mi,off"); the runs share the API server
//	SKIFF_BENCH_CONTROLLER_BIN        a built skiff binary (default: go build one)
func TestScaleControllerProcess(t *testing.T) {
	if os.Getenv("SKIFF_BENCH_CONTROLLER") != "1" {
		t.Skip("controller scale benchmark: set SKIFF_BENCH_CONTROLLER=1 (hack/bench-controller.sh)")
	}
	spec := fleetSpec{proxies: envIntT(t, "SKIFF_BENCH_PROXIES", 2000), replicas: envIntT(t, "SKIFF_BENCH_REPLICAS", 200)}
	limits := strings.Split(cmp.Or(os.Getenv("SKIFF_BENCH_CONTROLLER_MEMLIMITS"), "container=300Mi,off"), ",")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()

	bin := os.Getenv("SKIFF_BENCH_CONTROLLER_BIN")
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "skiff")
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "skiff.dev/skiff").CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}

	// The kubeadm default range: room for 1,000 Services (envtest's /24 is not).
	env := testenv.StartWithServiceRange(t, "10.96.0.0/12")
	env.InstallIstioCRDs(t)
	start := time.Now()
	in := largeInput(scaleServices)
	n := createMesh(ctx, t, env, in)
	fmt.Printf("controller-bench: created %d objects in %.1f s\n", n, time.Since(start).Seconds())

	kubeconfig := env.Kubeconfig(t)
	istio := istioclient.NewForConfigOrDie(env.Config)
	split := [2]uint32{90, 10}
	for _, limit := range limits {
		t.Run("GOMEMLIMIT="+limit, func(t *testing.T) {
			if split == [2]uint32{90, 10} {
				split = [2]uint32{80, 20}
			} else {
				split = [2]uint32{90, 10}
			}
			runControllerScale(ctx, t, bin, kubeconfig, limit, spec, in, istio, split)
		})
	}
}

// runControllerScale starts a controller at GOMEMLIMIT=limit, connects the fleet, changes the split of
// changedService's VirtualService to split and measures until every proxy ACKed the new routes.
func runControllerScale(ctx context.Context, t *testing.T, bin, kubeconfig, limit string, spec fleetSpec, in model.Input, istio istioclient.Interface, split [2]uint32) {
	start := time.Now()
	ctl := startControllerProcess(ctx, t, bin, kubeconfig, limit)
	ready := time.Since(start)
	readyPeak, readyMem := ctl.status(t, "VmHWM"), ctl.memory(ctx, t)

	start = time.Now()
	f, err := startFleetProcess(ctx, ctl.xds, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	if err := f.settle(ctx); err != nil {
		t.Fatal(err)
	}
	connect := time.Since(start)
	connectPeak, connectRSS, connectMem := ctl.status(t, "VmHWM"), ctl.status(t, "VmRSS"), ctl.memory(ctx, t)

	// The push's own peak: reset the high-water mark to the current RSS.
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", ctl.cmd.Process.Pid), []byte("5"), 0); err != nil {
		t.Logf("cannot reset the controller's peak RSS (%v): the push peak includes connecting", err)
	}
	cpu := ctl.cpu(t)
	if err := f.mark(resource.RouteType); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	vs, err := istio.NetworkingV1().VirtualServices("ns-0").Get(ctx, changedService, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for j, d := range vs.Spec.Http[0].Route {
		d.Weight = int32(split[j])
	}
	if _, err := istio.NetworkingV1().VirtualServices("ns-0").Update(ctx, vs, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := f.waitPast(ctx, resource.RouteType); err != nil {
		t.Fatal(err)
	}
	push := time.Since(start)
	if err := f.checkSplit(split); err != nil {
		t.Fatal(err)
	}
	if err := f.settle(ctx); err != nil {
		t.Fatal(err)
	}
	pushCPU := ctl.cpu(t) - cpu
	pushPeak, pushRSS, pushMem := ctl.status(t, "VmHWM"), ctl.status(t, "VmRSS"), ctl.memory(ctx, t)

	fmt.Printf("controller-bench: GOMEMLIMIT=%s proxies=%d workloads=%d ready-s=%.1f ready-peak-RSS-MB=%d "+
		"connect-s=%.1f connect-peak-RSS-MB=%d connect-RSS-MB=%d push-ms=%d push-cpu-ms=%d push-peak-RSS-MB=%d push-RSS-MB=%d\n",
		limit, spec.proxies, spec.workloads(), ready.Seconds(), readyPeak>>20, connect.Seconds(), connectPeak>>20, connectRSS>>20,
		push.Milliseconds(), pushCPU.Milliseconds(), pushPeak>>20, pushRSS>>20)
	fmt.Printf("controller-bench: GOMEMLIMIT=%s Go memory when ready: %s; connected: %s; after the push: %s\n", limit, readyMem, connectMem, pushMem)
	// RssFile is the mapped binary (and shared libraries): outside the Go heap and GOMEMLIMIT.
	fmt.Printf("controller-bench: GOMEMLIMIT=%s after the push: RssAnon-MB=%d RssFile-MB=%d\n", limit, ctl.status(t, "RssAnon")>>20, ctl.status(t, "RssFile")>>20)

	// After measuring (a config dump costs memory): the controller's model, built from informers, serves
	// every name the fleet subscribes to, which the fleet computed from model.Build(largeInput).
	checkServedSubscriptions(ctx, t, ctl.monitoring, spec.proxy(0), model.Build(in))
}

// createMesh creates in's objects (namespaces, the default profile's ConfigMaps, Services without their
// ClusterIPs, which the API server allocates, pods, EndpointSlices, DestinationRules, VirtualServices),
// in parallel; it returns how many.
func createMesh(ctx context.Context, t *testing.T, env *testenv.Environment, in model.Input) int {
	t.Helper()
	cfg := *env.Config
	cfg.QPS, cfg.Burst = 5000, 5000
	kube := kubernetes.NewForConfigOrDie(&cfg)
	istio := istioclient.NewForConfigOrDie(&cfg)
	opts := metav1.CreateOptions{}

	var namespaces []func() error
	seen := map[string]bool{"istio-system": true}
	namespaces = append(namespaces, func() error { return createNamespace(ctx, kube, "istio-system") })
	for _, s := range in.Services {
		if !seen[s.Namespace] {
			seen[s.Namespace] = true
			namespaces = append(namespaces, func() error { return createNamespace(ctx, kube, s.Namespace) })
		}
	}
	var objects []func() error
	for _, cm := range installConfigMaps(t) {
		objects = append(objects, func() error { _, err := kube.CoreV1().ConfigMaps(cm.Namespace).Create(ctx, cm, opts); return err })
	}
	for _, s := range in.Services {
		s = s.DeepCopy()
		s.Spec.ClusterIP = ""
		objects = append(objects, func() error { _, err := kube.CoreV1().Services(s.Namespace).Create(ctx, s, opts); return err })
	}
	for _, p := range in.Pods {
		p = p.DeepCopy()
		p.Spec.Containers = []corev1.Container{{Name: "app", Image: "registry.example/app:1"}}
		objects = append(objects, func() error { _, err := kube.CoreV1().Pods(p.Namespace).Create(ctx, p, opts); return err })
	}
	for _, s := range in.EndpointSlices {
		objects = append(objects, func() error {
			_, err := kube.DiscoveryV1().EndpointSlices(s.Namespace).Create(ctx, s, opts)
			return err
		})
	}
	for _, d := range in.DestinationRules {
		objects = append(objects, func() error {
			_, err := istio.NetworkingV1().DestinationRules(d.Namespace).Create(ctx, d, opts)
			return err
		})
	}
	for _, v := range in.VirtualServices {
		objects = append(objects, func() error {
			_, err := istio.NetworkingV1().VirtualServices(v.Namespace).Create(ctx, v, opts)
			return err
		})
	}
	for _, batch := range [][]func() error{namespaces, objects} {
		if err := runParallel(16, batch); err != nil {
			t.Fatal(err)
		}
	}
	return len(namespaces) + len(objects)
}

func createNamespace(ctx context.Context, kube kubernetes.Interface, name string) error {
	_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	return err
}

// installConfigMaps are the default profile's ConfigMaps (mesh config, injector), which the controller's
// webhooks read at start.
func installConfigMaps(t *testing.T) []*corev1.ConfigMap {
	t.Helper()
	p, err := install.LoadProfile(install.ProfileOptions{Profile: "default"})
	if err != nil {
		t.Fatal(err)
	}
	manifests, err := install.Render(p)
	if err != nil {
		t.Fatal(err)
	}
	var out []*corev1.ConfigMap
	for _, m := range manifests {
		for _, obj := range m.Objects {
			if obj.GetKind() != "ConfigMap" {
				continue
			}
			cm := &corev1.ConfigMap{}
			if err := k8sruntime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, cm); err != nil {
				t.Fatal(err)
			}
			out = append(out, cm)
		}
	}
	return out
}

// runParallel runs fns on workers goroutines and returns the first error.
func runParallel(workers int, fns []func() error) error {
	work := make(chan func() error)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for fn := range work {
				if err := fn(); err != nil {
					once.Do(func() { first = err })
				}
			}
		}()
	}
	for _, fn := range fns {
		work <- fn
	}
	close(work)
	wg.Wait()
	return first
}

// controllerProcess is a running `skiff controller`.
type controllerProcess struct {
	cmd             *exec.Cmd
	xds, monitoring string
}

// startControllerProcess runs bin as `skiff controller` on free loopback ports with the memory setting
// limit (see SKIFF_BENCH_CONTROLLER_MEMLIMITS) and returns once /ready answers 200; the process is stopped when t ends.
func startControllerProcess(ctx context.Context, t *testing.T, bin, kubeconfig, limit string) *controllerProcess {
	t.Helper()
	addrs := make([]string, 5)
	for i := range addrs {
		addrs[i] = freeAddr(t)
	}
	cmd := exec.CommandContext(ctx, bin, "controller", "--kubeconfig", kubeconfig, "--mesh-namespace", "istio-system",
		"--xds-addr", addrs[0], "--secure-addr", addrs[1], "--ready-addr", addrs[2], "--monitoring-addr", addrs[3],
		"--webhook-addr", addrs[4], "--log_output_level", "default:warn")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOMEMLIMIT=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if container, ok := strings.CutPrefix(limit, "container="); ok {
		q := k8sresource.MustParse(container)
		cmd.Env = append(cmd.Env, "MEMORY_LIMIT="+strconv.FormatInt(q.Value(), 10))
	} else if limit != "off" {
		cmd.Env = append(cmd.Env, "GOMEMLIMIT="+limit)
	}
	cmd.Env = append(cmd.Env, "POD_NAMESPACE=istio-system", "POD_NAME=istiod-bench")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("controller output:\n%s", logs.String())
		}
	})
	ready := "http://" + addrs[2] + "/ready"
	deadline := time.Now().Add(5 * time.Minute)
	for {
		select {
		case err := <-exited:
			t.Fatalf("controller exited: %v\n%s", err, logs.String())
		case <-time.After(100 * time.Millisecond):
		}
		if resp, err := http.Get(ready); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return &controllerProcess{cmd: cmd, xds: addrs[0], monitoring: addrs[3]}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("controller not ready after 5 minutes")
		}
	}
}

// status is a size field of the controller's /proc/<pid>/status (VmHWM, VmRSS, RssAnon...) in bytes.
func (c *controllerProcess) status(t *testing.T, field string) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, c.cmd.Process.Pid)
	return 0
}

// memory summarises the controller's Go runtime metrics: heap in use (live and not yet collected),
// goroutine stacks, goroutines.
func (c *controllerProcess) memory(ctx context.Context, t *testing.T) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.monitoring+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	values := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if ok && !strings.HasPrefix(name, "#") {
			values[name], _ = strconv.ParseFloat(value, 64)
		}
	}
	return fmt.Sprintf("heap-inuse-MB=%.0f stacks-MB=%.0f goroutines=%.0f", values["go_memstats_heap_inuse_bytes"]/(1<<20),
		values["go_memstats_stack_inuse_bytes"]/(1<<20), values["go_goroutines"])
}

// cpu is the controller's user and system CPU time so far (from /proc/<pid>/stat, in clock ticks of 10 ms).
func (c *controllerProcess) cpu(t *testing.T) time.Duration {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// checkServedSubscriptions compares what the controller would send proxy p (its config dump) with what
// model.Build(largeInput) generates for it: every endpoint and route name the fleet subscribes to must be
// served, and the clusters may differ only by the API server's own `kubernetes` Service.
func checkServedSubscriptions(ctx context.Context, t *testing.T, monitoring string, p *model.Proxy, mesh *model.Mesh) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+monitoring+"/debug/config_dump?proxy="+url.QueryEscape(p.ID), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("config dump: %s %v %.200s", resp.Status, err, body.String())
	}
	var dump struct {
		Clusters  []struct{ Name string }        `json:"clusters"`
		Routes    []struct{ Name string }        `json:"routes"`
		Endpoints []struct{ ClusterName string } `json:"endpoints"`
	}
	if err := yaml.Unmarshal(body.Bytes(), &dump); err != nil {
		t.Fatal(err)
	}
	names := func(n int, name func(int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = name(i)
		}
		slices.Sort(out)
		return out
	}
	served := map[string][]string{
		resource.EndpointType: names(len(dump.Endpoints), func(i int) string { return dump.Endpoints[i].ClusterName }),
		resource.RouteType:    names(len(dump.Routes), func(i int) string { return dump.Routes[i].Name }),
	}
	for typ, subs := range subscriptions(mesh, p) {
		for _, name := range subs {
			if _, found := slices.BinarySearch(served[typ], name); !found {
				t.Errorf("the controller does not serve %s %q that the fleet subscribes to", typ, name)
			}
		}
	}
	want := Generate(mesh, p).Clusters
	got := names(len(dump.Clusters), func(i int) string { return dump.Clusters[i].Name })
	var missing []string
	for _, c := range want {
		if _, found := slices.BinarySearch(got, c.GetName()); !found {
			missing = append(missing, c.GetName())
		}
	}
	if len(missing) > 0 {
		t.Errorf("the controller's model lacks %d of model.Build(largeInput)'s clusters, e.g. %v", len(missing), missing[:min(3, len(missing))])
	}
	fmt.Printf("controller-bench: proxy 0 served %d clusters (largeInput alone: %d), %d routes, %d endpoint sets\n",
		len(got), len(want), len(dump.Routes), len(dump.Endpoints))
}

func envIntT(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

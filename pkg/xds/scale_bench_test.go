package xds

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/skiff/pkg/model"
)

// The scale benchmarks push a mesh of 1,000 services × 10 endpoints (each with a DestinationRule of two
// subsets and a 90/10 VirtualService, see largeInput) to simulated sidecars on real gRPC ADS streams over
// loopback, the way the controller does: model.Build of the whole input, then Server.Push.
//
//	SKIFF_BENCH_PROXIES   connected proxies (default 100; hack/bench-controlplane.sh uses 2000)
//	SKIFF_BENCH_REPLICAS  replicas per workload, i.e. proxies sharing one generated configuration (default 10)
//	SKIFF_BENCH_FLEET     "process" runs the proxies in a child process, so this process's peak RSS
//	                      (the peak-RSS-MB metric) is the server's alone
const (
	scaleServices   = 1000
	changedService  = "svc-0"
	changedHostname = "svc-0.ns-0.svc.cluster.local"
	servicePort     = 8080
)

// BenchmarkFullPushAfterVirtualServiceChange: one VirtualService's split changes; the time is from the
// change until every connected proxy has received and ACKed the new route configuration.
func BenchmarkFullPushAfterVirtualServiceChange(b *testing.B) {
	in := largeInput(scaleServices)
	fullPushAfterVirtualServiceChange(b, startScale(b, in), in)
}

// BenchmarkIncrementalEDS: one endpoint joins one service; the time is from the change until every proxy
// subscribed to that service's cluster has received and ACKed the new endpoints. The rebuild is the same
// as for any change; only the one changed ClusterLoadAssignment is sent.
func BenchmarkIncrementalEDS(b *testing.B) {
	in := largeInput(scaleServices)
	incrementalEDS(b, startScale(b, in), in)
}

// BenchmarkControlPlaneScale runs both push benchmarks on one connected fleet: connecting thousands of
// proxies takes minutes, so hack/bench-controlplane.sh uses this one.
func BenchmarkControlPlaneScale(b *testing.B) {
	in := largeInput(scaleServices)
	env := startScale(b, in)
	b.Run("FullPushAfterVirtualServiceChange", func(b *testing.B) { fullPushAfterVirtualServiceChange(b, env, in) })
	b.Run("IncrementalEDS", func(b *testing.B) { incrementalEDS(b, env, in) })
}

func fullPushAfterVirtualServiceChange(b *testing.B, env *scaleEnv, in model.Input) {
	env.resetPeak(b)
	splits := [][2]uint32{{80, 20}, {90, 10}}
	var pushCall time.Duration
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		split := splits[i%2]
		i++
		in = withSplit(in, split)
		pushCall += env.pushUntilAcked(b, in, resource.RouteType, func() error { return env.fleet.checkSplit(split) })
	}
	env.report(b, pushCall)
}

func incrementalEDS(b *testing.B, env *scaleEnv, in model.Input) {
	env.resetPeak(b)
	var pushCall time.Duration
	endpoints := 10
	b.ReportAllocs()
	for b.Loop() {
		in = withEndpoint(in, endpoints)
		endpoints++
		pushCall += env.pushUntilAcked(b, in, resource.EndpointType, func() error { return env.fleet.checkEndpoints(endpoints) })
	}
	env.report(b, pushCall)
}

// pushUntilAcked pushes in and waits until every proxy ACKed a new response of typ (the timed part), then,
// untimed, checks what the proxies got and lets every type settle. It returns the time spent until Push
// returned (model.Build; generating and encoding happen as the streams ask).
func (env *scaleEnv) pushUntilAcked(b *testing.B, in model.Input, typ string, check func() error) time.Duration {
	b.StopTimer()
	if err := env.fleet.mark(typ); err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
	start := time.Now()
	if err := env.server.Push(env.ctx, model.Build(in)); err != nil {
		b.Fatal(err)
	}
	inPush := time.Since(start)
	if err := env.fleet.waitPast(env.ctx, typ); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if err := check(); err != nil {
		b.Fatal(err)
	}
	if err := env.fleet.settle(env.ctx); err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
	return inPush
}

// proxyFleet is the simulated proxies, in this process or a child process.
type proxyFleet interface {
	// mark notes how many responses of typ each proxy ACKed; waitPast waits until each ACKed one more.
	mark(typ string) error
	waitPast(ctx context.Context, typ string) error
	settle(ctx context.Context) error
	// checkSplit and checkEndpoints verify what proxy 0 received.
	checkSplit(split [2]uint32) error
	checkEndpoints(n int) error
	close()
}

type scaleEnv struct {
	ctx    context.Context
	server *Server
	fleet  proxyFleet
	spec   fleetSpec
	// connect is how long connecting the fleet took; connectPeak the peak RSS by then.
	connect     time.Duration
	connectPeak int64
	// cpuStart is this process's CPU time when the measured pushes began.
	cpuStart time.Duration
}

// startScale serves in over ADS on loopback and connects the fleet; everything stops when b ends.
func startScale(b *testing.B, in model.Input) *scaleEnv {
	b.Helper()
	spec := fleetSpec{proxies: envInt(b, "SKIFF_BENCH_PROXIES", 100), replicas: envInt(b, "SKIFF_BENCH_REPLICAS", 10)}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	b.Cleanup(cancel)
	mesh := model.Build(in)
	srv := NewServer(ctx, mesh, discardLogger{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	g := grpc.NewServer(GRPCServerOptions()...)
	srv.Register(g)
	served := make(chan struct{})
	go func() { defer close(served); _ = g.Serve(lis) }()
	b.Cleanup(func() { g.Stop(); <-served })

	start := time.Now()
	var f proxyFleet
	if os.Getenv("SKIFF_BENCH_FLEET") == "process" {
		f, err = startFleetProcess(ctx, lis.Addr().String(), spec)
	} else {
		f, err = connectFleet(ctx, lis.Addr().String(), spec, mesh, true)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(f.close) // runs before g.Stop: clients hang up first
	if n := srv.ConnectedProxies(); n != spec.proxies {
		b.Fatalf("%d proxies connected, want %d", n, spec.proxies)
	}
	if err := srv.Push(ctx, mesh); err != nil {
		b.Fatal(err)
	}
	if err := f.settle(ctx); err != nil {
		b.Fatal(err)
	}
	env := &scaleEnv{ctx: ctx, server: srv, fleet: f, spec: spec, connect: time.Since(start)}
	env.connectPeak, _ = peakRSS()
	return env
}

// resetPeak starts the RSS high-water mark afresh, so peak-RSS-MB is that of the pushes measured, not of
// connecting or an earlier benchmark on the same fleet.
func (e *scaleEnv) resetPeak(b *testing.B) {
	runtime.GC()
	debug.FreeOSMemory()
	e.cpuStart = cpuTime()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("cannot reset the peak RSS (%v): peak-RSS-MB includes connecting", err)
	}
}

// report adds the custom metrics: wall time per push and the part of it until Server.Push returned
// (model.Build; generation, encoding and delivery run on the streams), the scale, and
// memory. peak-RSS-MB is this process's high-water mark (VmHWM) while pushing, connect-peak-RSS-MB the
// one while connecting; heap-MB the live heap after a GC.
func (e *scaleEnv) report(b *testing.B, pushCall time.Duration) {
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/push")
	b.ReportMetric(float64(pushCall.Microseconds())/1000/float64(b.N), "push-call-ms/push")
	// With the fleet in a child process, this is the server's CPU alone (settling included).
	b.ReportMetric(float64((cpuTime()-e.cpuStart).Microseconds())/1000/float64(b.N), "cpu-ms/push")
	b.ReportMetric(float64(e.spec.proxies), "proxies")
	b.ReportMetric(float64(e.spec.workloads()), "proxy-classes")
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MB")
	b.ReportMetric(float64(ms.StackInuse)/(1<<20), "stacks-MB")
	b.ReportMetric(float64(runtime.NumGoroutine()), "goroutines")
	if path := os.Getenv("SKIFF_BENCH_HEAP_PROFILE"); path != "" {
		// The live heap with the fleet still connected; -test.memprofile is written after it has gone.
		if err := writeHeapProfile(path + "." + strings.ReplaceAll(b.Name(), "/", "_")); err != nil {
			b.Error(err)
		}
	}
	if hwm, err := peakRSS(); err == nil {
		b.ReportMetric(float64(hwm)/(1<<20), "peak-RSS-MB")
	}
	b.ReportMetric(float64(e.connectPeak)/(1<<20), "connect-peak-RSS-MB")
	b.ReportMetric(e.connect.Seconds(), "connect-s")
}

// withSplit returns in with changedService's VirtualService split set to split (a new object, as an
// informer would deliver it).
func withSplit(in model.Input, split [2]uint32) model.Input {
	out := in
	out.VirtualServices = append([]*networkingv1.VirtualService(nil), in.VirtualServices...)
	vs := in.VirtualServices[0].DeepCopy()
	for j, d := range vs.Spec.Http[0].Route {
		d.Weight = int32(split[j])
	}
	out.VirtualServices[0] = vs
	return out
}

// withEndpoint returns in with endpoint number n (a new pod) added to changedService.
func withEndpoint(in model.Input, n int) model.Input {
	out := in
	slice := in.EndpointSlices[0].DeepCopy()
	pod := fmt.Sprintf("%s-%d", changedService, n)
	slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{
		Addresses: []string{fmt.Sprintf("10.200.%d.%d", n/250, n%250)},
		TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: pod},
	})
	out.EndpointSlices = append([]*discoveryv1.EndpointSlice{slice}, in.EndpointSlices[1:]...)
	out.Pods = append(append([]*corev1.Pod(nil), in.Pods...), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: pod,
		Namespace: slice.Namespace, Labels: map[string]string{"app": changedService, "version": "v1"}}})
	return out
}

func (f *fleet) checkSplit(split [2]uint32) error {
	resp := f.lastResponse(resource.RouteType)
	for _, a := range resp.GetResources() {
		rc := &routev3.RouteConfiguration{}
		if err := a.UnmarshalTo(rc); err != nil {
			return err
		}
		for _, vh := range rc.GetVirtualHosts() {
			if vh.GetName() != HostPort(changedHostname, servicePort) {
				continue
			}
			var got []uint32
			for _, c := range vh.GetRoutes()[0].GetRoute().GetWeightedClusters().GetClusters() {
				got = append(got, c.GetWeight().GetValue())
			}
			if len(got) != 2 || got[0] != split[0] || got[1] != split[1] {
				return fmt.Errorf("proxy 0 has split %v for %s, want %v", got, changedHostname, split)
			}
			return nil
		}
	}
	return fmt.Errorf("proxy 0 has no virtual host for %s", changedHostname)
}

func (f *fleet) checkEndpoints(n int) error {
	want := ClusterName(servicePort, "", changedHostname)
	for _, a := range f.lastResponse(resource.EndpointType).GetResources() {
		cla := &endpointv3.ClusterLoadAssignment{}
		if err := a.UnmarshalTo(cla); err != nil {
			return err
		}
		if cla.GetClusterName() != want {
			continue
		}
		got := 0
		for _, l := range cla.GetEndpoints() {
			got += len(l.GetLbEndpoints())
		}
		if got != n {
			return fmt.Errorf("proxy 0 has %d endpoints for %s, want %d", got, want, n)
		}
		return nil
	}
	return fmt.Errorf("proxy 0 has no endpoints for %s", want)
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// cpuTime is the user and system CPU time this process has used (not its children's).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS is this process's resident set high-water mark in bytes.
func peakRSS() (int64, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/self/status")
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

// discardLogger keeps the xDS server quiet.
type discardLogger struct{}

func (discardLogger) Debugf(string, ...any) {}
func (discardLogger) Infof(string, ...any)  {}
func (discardLogger) Warnf(string, ...any)  {}
func (discardLogger) Errorf(string, ...any) {}

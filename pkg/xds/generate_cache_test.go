package xds

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	networking "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/skiff/pkg/model"
)

// cacheProxies differ in everything the cached outbound parts could depend on: type, namespace
// (exportTo, DestinationRule choice, short names), labels (Sidecar workloadSelector, sourceLabels,
// RequestAuthentication selectors) and IP (inbound listeners).
func cacheProxies() []*model.Proxy {
	return []*model.Proxy{
		{Type: model.Sidecar, Namespace: "default", IP: "10.1.0.0", Labels: map[string]string{"app": "a", "version": "v1"}},
		{Type: model.Sidecar, Namespace: "default", IP: "10.1.0.1", Labels: map[string]string{"app": "a", "version": "v1"}},
		{Type: model.Sidecar, Namespace: "default", IP: "10.9.0.1", Labels: map[string]string{"app": "b"}},
		{Type: model.Sidecar, Namespace: "default", IP: "10.9.0.2"},
		{Type: model.Sidecar, Namespace: "other", IP: "10.9.0.3", Labels: map[string]string{"app": "a"}},
		{Type: model.Sidecar, Namespace: "istio-system", IP: "10.9.0.4", Labels: map[string]string{"app": "b"}},
		{Type: model.ProxylessGRPC, Namespace: "default", Labels: map[string]string{"app": "a"},
			InboundListeners: []string{GRPCInboundPrefix + "10.1.0.0:80"}},
		{Type: model.ProxylessGRPC, Namespace: "other", Labels: map[string]string{"app": "b"}},
		{Type: model.Router, Namespace: "istio-system", Labels: map[string]string{"istio": "ingressgateway", "app": "a"}},
		{Type: model.Router, Namespace: "default", Labels: map[string]string{"istio": "ingressgateway"}},
	}
}

// cacheInput is a random mesh (fuzz_test.go) plus what randomInput leaves out that keys the cache:
// Sidecars selecting workloads by label and namespace-local config in a second namespace.
func cacheInput(b *byteSource) model.Input {
	in := randomInput(b)
	if b.intn(2) == 0 {
		sc := &networkingv1.Sidecar{ObjectMeta: metav1.ObjectMeta{Name: "by-label", Namespace: b.pick("default", "other")}}
		sc.Spec.WorkloadSelector = &networking.WorkloadSelector{Labels: map[string]string{"app": b.pick("a", "b")}}
		sc.Spec.Egress = []*networking.IstioEgressListener{{Hosts: []string{b.pick("./*", "default/b.default.svc.cluster.local", "istio-system/*")}}}
		in.Sidecars = append(in.Sidecars, sc)
	}
	for i := range b.intn(3) {
		vs := randomVirtualService(b, 10+i)
		vs.Spec.ExportTo = [][]string{nil, {"."}, {"other"}, {"*"}}[b.intn(4)]
		in.VirtualServices = append(in.VirtualServices, vs)
	}
	for i := range b.intn(3) {
		dr := randomDestinationRule(b, 10+i)
		dr.Spec.ExportTo = [][]string{nil, {"."}, {"default"}}[b.intn(3)]
		in.DestinationRules = append(in.DestinationRules, dr)
	}
	return in
}

// checkGenerateCache generates every proxy through one GenerateCache, in several orders, and compares
// with Generate; then checks that later proxies did not change what earlier ones were given.
func checkGenerateCache(t *testing.T, data []byte, rng *rand.Rand) {
	t.Helper()
	mesh := model.Build(cacheInput(&byteSource{data: data}))
	proxies := cacheProxies()
	want := make([]*Resources, len(proxies))
	for i, p := range proxies {
		want[i] = Generate(mesh, p)
	}
	orders := [][]int{}
	forward := make([]int, len(proxies))
	for i := range forward {
		forward[i] = i
	}
	backward := slices.Clone(forward)
	slices.Reverse(backward)
	orders = append(orders, forward, backward)
	for range 2 {
		orders = append(orders, rng.Perm(len(proxies)))
	}
	for _, order := range orders {
		cache := NewGenerateCache(mesh)
		got := make([]*Resources, len(proxies))
		snapshot := make([]*Resources, len(proxies))
		for _, i := range order {
			got[i] = cache.Generate(proxies[i])
			snapshot[i] = cloneResources(got[i])
		}
		for _, i := range order {
			if diff := resourcesDiff(want[i], got[i]); diff != "" {
				t.Fatalf("order %v, proxy %d (%v %s %v): cached differs from Generate: %s", order, i, proxies[i].Type, proxies[i].Namespace, proxies[i].Labels, diff)
			}
			if diff := resourcesDiff(snapshot[i], got[i]); diff != "" {
				t.Fatalf("order %v, proxy %d: resources changed after they were returned: %s", order, i, diff)
			}
		}
	}
}

// TestGenerateCacheMatchesGenerate runs checkGenerateCache on many random meshes.
func TestGenerateCacheMatchesGenerate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 400
	if testing.Short() {
		n = 50
	}
	for i := range n {
		data := make([]byte, 64+rng.IntN(400))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkGenerateCache(t, data, rng) })
	}
}

// FuzzGenerateCache is TestGenerateCacheMatchesGenerate driven by the fuzzer.
func FuzzGenerateCache(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("the quick brown fox jumps over the lazy dog, twice: the quick brown fox jumps"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkGenerateCache(t, data, rand.New(rand.NewPCG(uint64(len(data)), 7)))
	})
}

// TestGenerateCacheConcurrent shares one cache between goroutines (run with -race).
func TestGenerateCacheConcurrent(t *testing.T) {
	mesh := model.Build(largeInput(40))
	var proxies []*model.Proxy
	for i := range 16 { // pairs race for the same entries
		proxies = append(proxies, &model.Proxy{Type: model.ProxyType(i % 3), Namespace: fmt.Sprint("ns-", i/2%4), Labels: map[string]string{"app": fmt.Sprint("svc-", i/2)}})
	}
	cache := NewGenerateCache(mesh)
	got := make([]*Resources, len(proxies))
	var wg sync.WaitGroup
	for i, p := range proxies {
		wg.Go(func() { got[i] = cache.Generate(p) })
	}
	wg.Wait()
	for i, p := range proxies {
		if diff := resourcesDiff(Generate(mesh, p), got[i]); diff != "" {
			t.Fatalf("proxy %d: %s", i, diff)
		}
	}
}

func cloneResources(r *Resources) *Resources {
	return &Resources{
		Listeners: cloneAll(r.Listeners),
		Routes:    cloneAll(r.Routes),
		Clusters:  cloneAll(r.Clusters),
		Endpoints: cloneAll(r.Endpoints),
		Secrets:   cloneAll(r.Secrets),
	}
}

func cloneAll[T proto.Message](in []T) []T {
	out := make([]T, len(in))
	for i, m := range in {
		out[i] = proto.Clone(m).(T)
	}
	return out
}

// resourcesDiff names the first resource that differs, in order, or "" when all are proto.Equal.
func resourcesDiff(want, got *Resources) string {
	for _, d := range []string{
		listDiff("listener", want.Listeners, got.Listeners),
		listDiff("route", want.Routes, got.Routes),
		listDiff("cluster", want.Clusters, got.Clusters),
		listDiff("endpoints", want.Endpoints, got.Endpoints),
		listDiff("secret", want.Secrets, got.Secrets),
	} {
		if d != "" {
			return d
		}
	}
	return ""
}

func listDiff[T proto.Message](kind string, want, got []T) string {
	if len(want) != len(got) {
		return fmt.Sprintf("%d %ss, want %d", len(got), kind, len(want))
	}
	for i := range want {
		if !sameMessage(want[i], got[i]) {
			return fmt.Sprintf("%s %d:\n got %v\nwant %v", kind, i, got[i], want[i])
		}
	}
	return ""
}

// sameMessage is proto.Equal, except that Anys are compared by content: toAny marshals maps in random
// order, so two equal resources may pack different bytes. protojson expands Anys and sorts map keys.
func sameMessage(a, b proto.Message) bool {
	if proto.Equal(a, b) {
		return true
	}
	ja, errA := protojson.Marshal(a)
	jb, errB := protojson.Marshal(b)
	if errA != nil || errB != nil {
		return false
	}
	var ca, cb bytes.Buffer
	return json.Compact(&ca, ja) == nil && json.Compact(&cb, jb) == nil && bytes.Equal(ca.Bytes(), cb.Bytes())
}

// TestGenerateCacheDedupedDomains: a virtual host that loses a domain to another in one proxy's route
// configuration (here a VIP two services share) must keep it for a proxy that does not see the other.
func TestGenerateCacheDedupedDomains(t *testing.T) {
	var in model.Input
	for _, ns := range []string{"default", "other"} {
		in.Services = append(in.Services, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
			Spec:       corev1.ServiceSpec{ClusterIP: "10.96.0.1", Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
		})
	}
	sc := &networkingv1.Sidecar{ObjectMeta: metav1.ObjectMeta{Name: "only-other", Namespace: "default"}}
	sc.Spec.WorkloadSelector = &networking.WorkloadSelector{Labels: map[string]string{"app": "b"}}
	sc.Spec.Egress = []*networking.IstioEgressListener{{Hosts: []string{"other/*"}}}
	in.Sidecars = append(in.Sidecars, sc)
	mesh := model.Build(in)
	proxies := []*model.Proxy{
		{Type: model.Sidecar, Namespace: "default", Labels: map[string]string{"app": "a"}},
		{Type: model.Sidecar, Namespace: "default", Labels: map[string]string{"app": "b"}},
	}
	cache := NewGenerateCache(mesh)
	for i, p := range proxies {
		if diff := resourcesDiff(Generate(mesh, p), cache.Generate(p)); diff != "" {
			t.Fatalf("proxy %d: %s", i, diff)
		}
	}
	// The second proxy's only service keeps the VIP the first proxy's route configuration gave the other.
	if vhs := cache.Generate(proxies[1]).Routes[0].GetVirtualHosts(); !slices.Contains(vhs[0].GetDomains(), "10.96.0.1") {
		t.Errorf("virtual host %s lost its VIP: %v", vhs[0].GetName(), vhs[0].GetDomains())
	}
}

// TestGenerateCacheGoldenInputs compares the cache with Generate on the golden meshes (Telemetry,
// RequestAuthentication, Sidecar scopes, sourceLabels, delegation...), for several proxies in turn.
func TestGenerateCacheGoldenInputs(t *testing.T) {
	files, err := filepath.Glob("testdata/in/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			mesh := loadMesh(t, file)
			proxies := []*model.Proxy{goldenProxy(name), goldenProxy(name + "-grpc"), goldenProxy("gateway-" + name)}
			for _, ns := range []string{"default", "istio-system", "other"} {
				for _, app := range []string{"productpage", "reviews", "ratings"} {
					proxies = append(proxies, &model.Proxy{Namespace: ns, Labels: map[string]string{"app": app, "version": "v2"}})
				}
			}
			want := make([]*Resources, len(proxies))
			for i, p := range proxies {
				want[i] = Generate(mesh, p)
			}
			for _, backward := range []bool{false, true} {
				cache := NewGenerateCache(mesh)
				for j := range proxies {
					i := j
					if backward {
						i = len(proxies) - 1 - j
					}
					if diff := resourcesDiff(want[i], cache.Generate(proxies[i])); diff != "" {
						t.Fatalf("proxy %d (%v %s %v): %s", i, proxies[i].Type, proxies[i].Namespace, proxies[i].Labels, diff)
					}
				}
			}
		})
	}
}

// TestGenerationSharedEncodings: a generation whose classes generate side by side (sharing the cache and
// the encodings of its resources) serves each class what Generate gives it.
func TestGenerationSharedEncodings(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 40 {
		data := make([]byte, 64+rng.IntN(400))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		mesh := model.Build(cacheInput(&byteSource{data: data}))
		g := newGeneration(mesh, make(chan struct{}, 1), newInternTable(), nil)
		proxies := cacheProxies()
		held := g.shared.acquire(mesh) // keeps one shared state for all classes, as a busy push does
		views := make([]*classView, len(proxies))
		var wg sync.WaitGroup
		for k, p := range proxies {
			wg.Go(func() { views[k] = g.view(p) })
		}
		wg.Wait()
		if len(held.encoded) == 0 {
			t.Fatalf("mesh %d: no encoding was shared", i)
		}
		g.shared.release()
		if g.shared.cur != nil {
			t.Fatalf("mesh %d: shared state outlived its users", i)
		}
		for k, p := range proxies {
			for url, want := range Generate(mesh, p).byType() {
				view := views[k].typ(url)
				if len(view.names) != len(want) {
					t.Fatalf("mesh %d proxy %d: %d resources of %s, want %d", i, k, len(view.names), url, len(want))
				}
				last := map[string]types.Resource{} // a view keeps the last of resources sharing a name
				for _, res := range want {
					last[cachev3.GetResourceName(res)] = res
				}
				for _, res := range last {
					enc := view.byName[cachev3.GetResourceName(res)]
					if enc == nil {
						t.Fatalf("mesh %d proxy %d: no %s %s", i, k, url, cachev3.GetResourceName(res))
					}
					got := res.ProtoReflect().New().Interface()
					if err := proto.Unmarshal(enc.value, got); err != nil || !sameMessage(res, got) {
						t.Fatalf("mesh %d proxy %d: %s %s differs (%v):\n got %v\nwant %v", i, k, url, enc.name, err, got, res)
					}
				}
			}
		}
	}
}

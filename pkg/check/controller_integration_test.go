package check

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/skiff/internal/testenv"
	"skiff.dev/skiff/pkg/config"
	"skiff.dev/skiff/pkg/controller"
	"skiff.dev/skiff/pkg/install"
	"skiff.dev/skiff/pkg/kube"
	"skiff.dev/skiff/pkg/proxystatus"
	"skiff.dev/skiff/pkg/ui"
	"skiff.dev/skiff/pkg/version"
	"skiff.dev/skiff/pkg/xds"
)

// TestCheckWithRealController runs the real controller in-process behind the istiod pod's ports: it
// creates the CA, publishes istio-ca-root-cert, writes the caBundle, serves the webhook port with a
// certificate from the mesh root and /debug/syncz, which shows a proxy connected over real ADS; skiff
// check must accept all of it as it is.
func TestCheckWithRealController(t *testing.T) {
	env := testenv.Start(t)
	ctx := t.Context()
	g := config.Global{Kubeconfig: env.Kubeconfig(t), MeshNamespace: meshNS}
	c, err := kube.FromConfig(env.Config, "default")
	if err != nil {
		t.Fatal(err)
	}
	markCtx, stopMarking := context.WithCancel(ctx)
	marking := markDeploymentsReady(markCtx, c)
	defer func() { stopMarking(); <-marking }()
	installMinimal(t, ctx, g)

	opts := controller.Defaults()
	opts.Kube, opts.Namespace, opts.Debounce = env.Config, meshNS, 20*time.Millisecond
	opts.XDSAddr, opts.SecureAddr, opts.ReadyAddr, opts.MonitoringAddr, opts.WebhookAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	opts.Webhooks = http.NotFoundHandler()
	opts.MutatingWebhookConfigurations = []string{"istio-sidecar-injector"}
	opts.ValidatingWebhookConfigurations = []string{"istio-validator-" + meshNS}
	ctrl, err := controller.New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- ctrl.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("controller: %v", err)
		}
	}()

	kubelet := env.StartKubelet(t, "node-1")
	testenv.RunningPod(t, c.Typed, meshNS, "istiod-0", "node-1", map[string]string{"app": "istiod", "istio.io/rev": "default"}, true)
	kubelet.Expose(meshNS, "istiod-0", webhookPort, ctrl.WebhookAddr())
	kubelet.Expose(meshNS, "istiod-0", proxystatus.MonitoringPort, ctrl.MonitoringAddr())
	injectedPod(t, c, "productpage-v1", version.Get().Version)

	// The controller publishes the root and the caBundle asynchronously; wait for what check reads.
	deadline := time.Now().Add(15 * time.Second)
	for {
		cm, cmErr := c.Typed.CoreV1().ConfigMaps(meshNS).Get(ctx, rootCertConfigMap, metav1.GetOptions{})
		mwc, mwcErr := c.Typed.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, "istio-sidecar-injector", metav1.GetOptions{})
		if cmErr == nil && cm.Data["root-cert.pem"] == ctrl.RootPEM() && mwcErr == nil && string(mwc.Webhooks[0].ClientConfig.CABundle) == ctrl.RootPEM() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the controller did not publish the root and caBundle (configmap: %v, webhook: %v)", cmErr, mwcErr)
		}
		time.Sleep(50 * time.Millisecond)
	}

	connectProxy(t, ctx, ctrl.XDSAddr(), ctrl.MonitoringAddr(), "sidecar~10.1.0.7~productpage-v1.default~default.svc.cluster.local")

	var out bytes.Buffer
	if err := Run(ctx, g, Options{Out: &out}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Logf("skiff check:\n%s", out.String())
	for _, name := range allChecks {
		if !strings.Contains(out.String(), "✔ "+name+": ") {
			t.Errorf("no passing line for %s", name)
		}
	}
	mustContain(t, out.String(), "the served certificate chains to it", "✔ skiff-proxies-synced: all 1 proxy is SYNCED")
}

func installMinimal(t *testing.T, ctx context.Context, g config.Global) {
	t.Helper()
	var out bytes.Buffer
	if err := install.Run(ctx, g, install.Options{Profile: install.ProfileOptions{Profile: "minimal"}, Yes: true, Wait: true, Timeout: 30 * time.Second,
		Streams: ui.Streams{In: strings.NewReader(""), Out: &out, Err: &out}}); err != nil {
		t.Fatalf("install: %v\n%s", err, out.String())
	}
}

// connectProxy opens an ADS stream as a sidecar would, acknowledges the first clusters and waits until
// the controller's /debug/syncz shows them SYNCED; the proxy stays connected until the test ends.
func connectProxy(t *testing.T, ctx context.Context, addr, monitoringAddr, nodeID string) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&discoveryv3.DiscoveryRequest{Node: &corev3.Node{Id: nodeID}, TypeUrl: resource.ClusterType}); err != nil {
		t.Fatal(err)
	}
	// Like a real proxy, ACK every response: the controller may push again (e.g. after patching caBundles).
	go func() {
		for {
			resp, err := stream.Recv()
			if err != nil {
				return
			}
			ack := &discoveryv3.DiscoveryRequest{TypeUrl: resource.ClusterType, VersionInfo: resp.GetVersionInfo(), ResponseNonce: resp.GetNonce()}
			if err := stream.Send(ack); err != nil {
				return
			}
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if r, err := http.Get("http://" + monitoringAddr + xds.SynczPath); err == nil {
			body, _ := io.ReadAll(r.Body)
			_ = r.Body.Close()
			if doc, err := xds.ParseSyncz(body); err == nil && len(doc.Proxies) == 1 && doc.Proxies[0].Sync[xds.CDS] == xds.Synced {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the controller never reported the proxy's clusters SYNCED")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

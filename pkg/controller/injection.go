package controller

import (
	"context"
	"net/http"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"skiff.dev/skiff/pkg/inject"
	"skiff.dev/skiff/pkg/inject/kubeinject"
	"skiff.dev/skiff/pkg/webhook"
)

// InjectPath is where the injection webhook is served; the installer's MutatingWebhookConfiguration points here.
const InjectPath = "/inject"

// injectionWebhooks serves sidecar injection from the installed mesh's injector ConfigMaps, with the same
// engine and configuration as `skiff kube-inject --from-cluster`, so offline and admission injection agree.
func injectionWebhooks(ctx context.Context, cfg *rest.Config, namespace, revision string) (http.Handler, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	injCfg, err := kubeinject.ClusterConfig(ctx, cs, namespace, revision)
	if err != nil {
		return nil, err
	}
	inj, err := inject.New(injCfg)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(InjectPath, webhook.NewInjectHandler(inj))
	return mux, nil
}

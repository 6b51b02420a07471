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

// InjectPath and ValidatePath are where the webhooks are served; the installer's webhook configurations
// point here.
const (
	InjectPath   = "/inject"
	ValidatePath = "/validate"
)

// injectionWebhooks serves sidecar injection from the installed mesh's injector ConfigMaps, with the same
// engine and configuration as `skiff kube-inject --from-cluster`, so offline and admission injection agree;
// and configuration validation with the checks of `skiff analyze`.
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
	mux.Handle(ValidatePath, webhook.NewValidateHandler())
	return mux, nil
}

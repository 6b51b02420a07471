package agent

import (
	"context"
	"io"

	"skiff.dev/skiff/pkg/controller"
)

// CommandOptions is what `skiff agent` maps its flags into.
type CommandOptions struct {
	Options
	LogLevel  string
	LogAsJSON bool
	// Getenv reads the pod facts Istio's injector provides: POD_NAME, POD_NAMESPACE, INSTANCE_IP.
	Getenv func(string) string
	Err    io.Writer
}

// RunCommand fills the pod's identity from the environment and runs the agent until ctx ends.
func RunCommand(ctx context.Context, o CommandOptions) error {
	log, err := controller.NewLogger(o.Err, o.LogLevel, o.LogAsJSON)
	if err != nil {
		return err
	}
	opts := o.Options
	opts.Log = log
	if o.Getenv != nil {
		b := &opts.Bootstrap
		b.PodName = firstNonEmpty(b.PodName, o.Getenv("POD_NAME"))
		b.PodNamespace = firstNonEmpty(b.PodNamespace, o.Getenv("POD_NAMESPACE"))
		b.PodIP = firstNonEmpty(b.PodIP, o.Getenv("INSTANCE_IP"))
	}
	return Run(ctx, opts)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

package controller

import (
	"context"
	"io"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"

	"skiff.dev/skiff/pkg/config"
	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/kube"
)

// CommandOptions is what `skiff controller` maps its flags into.
type CommandOptions struct {
	Options
	// LogLevel takes Istio's --log_output_level form: "default:info" (or just "info").
	LogLevel  string
	LogAsJSON bool
	// Getenv reads the Pod environment the installer sets (POD_NAMESPACE, POD_NAME, ISTIOD_SERVICE, REVISION,
	// MUTATING_WEBHOOK, VALIDATING_WEBHOOK, MEMORY_LIMIT).
	Getenv func(string) string
	Err    io.Writer
}

// RunCommand resolves the environment, kubeconfig and logger, then runs the controller until ctx ends.
func RunCommand(ctx context.Context, g config.Global, o CommandOptions) error {
	log, err := NewLogger(o.Err, o.LogLevel, o.LogAsJSON)
	if err != nil {
		return err
	}
	opts := o.Options
	opts.Log = log
	opts.Namespace = g.MeshNamespace
	if o.Getenv != nil {
		applyMemoryLimit(o.Getenv, log)
		if ns := o.Getenv("POD_NAMESPACE"); ns != "" {
			opts.Namespace = ns
		}
		if cm := o.Getenv("MESH_CONFIG_MAP"); cm != "" { // istio-<revision> for a revision
			opts.MeshConfigMap = cm
		}
		if svc := o.Getenv("ISTIOD_SERVICE"); svc != "" {
			opts.ServiceName = svc
		}
		if pod := o.Getenv("POD_NAME"); pod != "" {
			opts.LeaderElection.Identity = pod
		}
		// Each revision keeps its own webhook configurations current, so each elects its own leader.
		if rev := o.Getenv("REVISION"); rev != "" && rev != "default" && opts.LeaderElection.LeaseName != "" {
			opts.LeaderElection.LeaseName += "-" + rev
		}
		// The installer names the webhook configurations whose caBundle the controller keeps current.
		if name := o.Getenv("MUTATING_WEBHOOK"); name != "" {
			opts.MutatingWebhookConfigurations = append(opts.MutatingWebhookConfigurations, name)
		}
		if name := o.Getenv("VALIDATING_WEBHOOK"); name != "" {
			opts.ValidatingWebhookConfigurations = append(opts.ValidatingWebhookConfigurations, name)
		}
	}
	cfg, _, err := kube.RESTConfig(g)
	if err != nil {
		return err
	}
	opts.Kube = cfg
	if opts.Webhooks == nil {
		revision := ""
		if o.Getenv != nil {
			revision = o.Getenv("REVISION")
		}
		if opts.Webhooks, err = injectionWebhooks(ctx, cfg, opts.Namespace, revision); err != nil {
			return err
		}
	}
	return Run(ctx, opts)
}

// memoryLimitShare is the part of the container's memory limit given to the Go runtime as its soft limit.
// The rest is for what the runtime does not count: the binary's pages (about 60 MB) and the kernel's.
const memoryLimitShare = 0.75

// applyMemoryLimit makes the Go runtime collect harder as the controller nears the container's memory
// limit, which the installer passes as MEMORY_LIMIT (bytes, from the downward API). An explicit
// GOMEMLIMIT wins: the runtime has already applied it.
func applyMemoryLimit(getenv func(string) string, log *slog.Logger) {
	if getenv("GOMEMLIMIT") != "" {
		return
	}
	limit, err := strconv.ParseInt(getenv("MEMORY_LIMIT"), 10, 64)
	if err != nil || limit <= 0 {
		return
	}
	soft := int64(float64(limit) * memoryLimitShare)
	debug.SetMemoryLimit(soft)
	log.Info("Go memory limit set from the container's", "containerLimitBytes", limit, "goMemoryLimitBytes", soft)
}

// NewLogger builds the controller's structured logger from Istio-style level flags.
func NewLogger(w io.Writer, level string, asJSON bool) (*slog.Logger, error) {
	spec := level
	// "default:info,ads:debug": only the default scope is honoured; the others are accepted for compatibility.
	for _, part := range strings.Split(level, ",") {
		if scope, lvl, ok := strings.Cut(part, ":"); ok && scope == "default" {
			spec = lvl
		} else if !ok {
			spec = part
		}
	}
	var l slog.Level
	switch strings.ToLower(strings.TrimSpace(spec)) {
	case "debug":
		l = slog.LevelDebug
	case "info", "":
		l = slog.LevelInfo
	case "warn", "warning":
		l = slog.LevelWarn
	case "error", "fatal", "none":
		l = slog.LevelError
	default:
		return nil, errs.Usage("--log_output_level %q: want a level (debug, info, warn, error), optionally as default:<level>", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	if asJSON {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

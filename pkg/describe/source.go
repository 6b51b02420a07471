package describe

import (
	"cmp"
	"context"
	"io"

	"skiff.dev/skiff/pkg/config"
	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/kube"
	"skiff.dev/skiff/pkg/model"
)

// Source says where the mesh is read from: YAML files and directories, or the live cluster when there are
// none. `skiff x graph` reads its input the same way.
type Source struct {
	// Files are files, directories (their *.yaml, *.yml and *.json files, recursively) and "-" for stdin.
	Files []string
	Stdin io.Reader
	// Global locates the cluster when there are no files.
	Global config.Global
	// Clients overrides Global (tests pass the test API server's).
	Clients *kube.Clients
}

// FromCluster says whether the cluster is read.
func (s Source) FromCluster() bool { return len(s.Files) == 0 }

// Load reads the mesh input. Malformed YAML is an errs.BadInput naming the file and line.
func (s Source) Load(ctx context.Context) (model.Input, error) {
	if s.FromCluster() {
		c := s.Clients
		if c == nil {
			var err error
			if c, err = kube.New(s.Global); err != nil {
				return model.Input{}, err
			}
		}
		return loadCluster(ctx, c)
	}
	return s.loadFiles()
}

func (s Source) loadFiles() (model.Input, error) {
	dec, err := model.NewDecoder()
	if err != nil {
		return model.Input{}, errs.Failure("building decoder: %v", err)
	}
	var in model.Input
	var docs [][]byte
	err = model.ReadPaths(s.Files, s.Stdin, func(name string, data []byte) error {
		if err := dec.AddYAML(&in, name, data); err != nil {
			return err
		}
		for _, d := range model.SplitDocuments(data) {
			docs = append(docs, d.Body)
		}
		return nil
	})
	if err != nil {
		return in, err
	}
	defaultNamespace(&in, cmp.Or(s.Global.Namespace, "default"))
	in.Pods = append(in.Pods, templatePods(docs, cmp.Or(s.Global.Namespace, "default"))...)
	return in, nil
}

// defaultNamespace puts objects without a namespace where kubectl apply would: -n, else "default".
func defaultNamespace(in *model.Input, ns string) {
	for _, o := range in.Objects() {
		if o.GetNamespace() == "" {
			o.SetNamespace(ns)
		}
	}
}

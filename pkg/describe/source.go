package describe

import (
	"cmp"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
	add := func(name string, data []byte) error {
		split := splitDocs(data)
		if err := checkSyntax(name, split); err != nil {
			return err
		}
		for _, d := range split {
			docs = append(docs, d.body)
		}
		return dec.AddYAML(&in, name, data)
	}
	for _, p := range s.Files {
		if p == "-" {
			if s.Stdin == nil {
				return in, errs.BadInput("cannot read stdin")
			}
			b, err := io.ReadAll(s.Stdin)
			if err != nil {
				return in, errs.BadInput("reading stdin: %v", err)
			}
			if err := add("-", b); err != nil {
				return in, err
			}
			continue
		}
		files, err := yamlFiles(p)
		if err != nil {
			return in, err
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return in, errs.BadInput("cannot read %s: %v", f, unwrapPath(err))
			}
			if err := add(f, b); err != nil {
				return in, err
			}
		}
	}
	defaultNamespace(&in, cmp.Or(s.Global.Namespace, "default"))
	in.Pods = append(in.Pods, templatePods(docs, cmp.Or(s.Global.Namespace, "default"))...)
	return in, nil
}

// defaultNamespace puts objects without a namespace where kubectl apply would: -n, else "default".
func defaultNamespace(in *model.Input, ns string) {
	var objs []metav1.Object
	for _, o := range in.Services {
		objs = append(objs, o)
	}
	for _, o := range in.Pods {
		objs = append(objs, o)
	}
	for _, o := range in.EndpointSlices {
		objs = append(objs, o)
	}
	for _, o := range in.VirtualServices {
		objs = append(objs, o)
	}
	for _, o := range in.DestinationRules {
		objs = append(objs, o)
	}
	for _, o := range in.ServiceEntries {
		objs = append(objs, o)
	}
	for _, o := range in.Gateways {
		objs = append(objs, o)
	}
	for _, o := range in.PeerAuthentications {
		objs = append(objs, o)
	}
	for _, o := range in.AuthorizationPolicies {
		objs = append(objs, o)
	}
	for _, o := range in.Sidecars {
		objs = append(objs, o)
	}
	for _, o := range objs {
		if o.GetNamespace() == "" {
			o.SetNamespace(ns)
		}
	}
}

// yamlFiles expands a path: a file is itself, a directory its YAML and JSON files in lexical order.
func yamlFiles(path string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, errs.BadInput("cannot read %s: %v", path, unwrapPath(err))
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	var out []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return errs.BadInput("cannot read %s: %v", p, unwrapPath(err))
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".yaml", ".yml", ".json":
			if !d.IsDir() {
				out = append(out, p)
			}
		}
		return nil
	})
	slices.Sort(out)
	return out, err
}

func unwrapPath(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

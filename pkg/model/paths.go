package model

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"skiff.dev/skiff/pkg/errs"
)

// StdinName names standard input in messages, for the path "-".
const StdinName = "<stdin>"

// ReadPaths reads each path — a file, a directory (its *.yaml, *.yml and *.json files, recursively, in
// lexical order) or "-" for stdin — and hands every file's name and contents to fn, in order. The
// commands that take -f (x describe, x graph, x translate) share it so they accept the same inputs.
func ReadPaths(paths []string, stdin io.Reader, fn func(name string, data []byte) error) error {
	for _, p := range paths {
		if p == "-" {
			if stdin == nil {
				return errs.Usage("-f - needs standard input")
			}
			b, err := io.ReadAll(stdin)
			if err != nil {
				return errs.BadInput("reading standard input: %v", err)
			}
			if err := fn(StdinName, b); err != nil {
				return err
			}
			continue
		}
		files, err := yamlFiles(p)
		if err != nil {
			return err
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return errs.BadInput("cannot read %s: %v", f, unwrapPath(err))
			}
			if err := fn(f, b); err != nil {
				return err
			}
		}
	}
	return nil
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

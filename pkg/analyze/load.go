package analyze

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"skiff.dev/skiff/pkg/errs"
)

// input is one named stream of YAML.
type input struct {
	name string
	data []byte
}

// readInputs reads files, directories (their *.yaml, *.yml and *.json files; subdirectories with recursive)
// and "-" for stdin. An unreadable path is a bad-input error naming it.
func readInputs(paths []string, recursive bool, stdin io.Reader) ([]input, error) {
	var out []input
	for _, p := range paths {
		if p == "-" {
			if stdin == nil {
				return nil, errs.BadInput("cannot read stdin")
			}
			b, err := io.ReadAll(stdin)
			if err != nil {
				return nil, errs.BadInput("reading stdin: %v", err)
			}
			out = append(out, input{name: "-", data: b})
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			return nil, errs.BadInput("cannot read %s: %v", p, pathErr(err))
		}
		if !info.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, errs.BadInput("cannot read %s: %v", p, pathErr(err))
			}
			out = append(out, input{name: p, data: b})
			continue
		}
		files, err := listDir(p, recursive)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, errs.BadInput("cannot read %s: %v", f, pathErr(err))
			}
			out = append(out, input{name: f, data: b})
		}
	}
	return out, nil
}

func listDir(dir string, recursive bool) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return errs.BadInput("cannot read %s: %v", path, pathErr(err))
		}
		if d.IsDir() {
			if path != dir && !recursive {
				return filepath.SkipDir
			}
			return nil
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".yaml", ".yml", ".json":
			files = append(files, path)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

// pathErr drops the path from *PathError, since the caller names it already.
func pathErr(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

// parseInputs decodes every document of every input, in parallel, keeping input order. Documents that cannot
// become objects come back as problems; the rest are decoded even when some of their neighbours are broken.
func parseInputs(inputs []input, dec *decoder) ([]*Resource, []Message, []problem) {
	var chunks []chunk
	for _, in := range inputs {
		chunks = append(chunks, splitChunks(in.name, in.data)...)
	}
	type result struct {
		resources []*Resource
		msgs      []Message
		problems  []problem
	}
	results := make([]result, len(chunks))
	work := func(i int) {
		r := &results[i]
		defer func() {
			// A decoding bug must not crash the command or lose the other documents.
			if v := recover(); v != nil {
				*r = result{problems: []problem{{file: chunks[i].file, line: chunks[i].startLine + 1, text: fmt.Sprintf("internal error decoding this document: %v", v)}}}
			}
		}()
		d, p, ok := chunks[i].parse()
		if p != nil {
			r.problems = append(r.problems, *p)
		}
		if !ok {
			return
		}
		for _, d := range expandLists([]document{d}) {
			res, ms, p := dec.decode(d, Origin{File: d.file})
			if p != nil {
				r.problems = append(r.problems, *p)
				continue
			}
			r.msgs = append(r.msgs, ms...)
			r.resources = append(r.resources, res)
		}
	}
	parallel(len(chunks), work)
	var resources []*Resource
	var msgs []Message
	var problems []problem
	for _, r := range results {
		resources = append(resources, r.resources...)
		msgs = append(msgs, r.msgs...)
		problems = append(problems, r.problems...)
	}
	return resources, msgs, problems
}

// parallel runs work(0..n-1) on GOMAXPROCS goroutines.
func parallel(n int, work func(int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			work(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				work(i)
			}
		})
	}
	wg.Wait()
}

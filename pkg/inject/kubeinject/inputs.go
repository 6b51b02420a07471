package kubeinject

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"skiff.dev/skiff/pkg/errs"
)

// input is one manifest to process and the name errors report it by.
type input struct {
	name string
	data []byte
}

// readInputs reads -f: "-" is stdin, a directory contributes its *.yaml, *.yml and *.json files (recursively,
// in lexical order), anything else is one file.
func readInputs(filename string, stdin io.Reader) ([]input, error) {
	if filename == "" {
		return nil, errs.Usage("-f is required: a manifest file, a directory, or - for stdin")
	}
	if filename == "-" {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, errs.Failure("reading stdin: %v", err)
		}
		return []input{{name: "<stdin>", data: b}}, nil
	}
	st, err := os.Stat(filename)
	if err != nil {
		return nil, errs.BadInput("%v", err)
	}
	if !st.IsDir() {
		b, err := os.ReadFile(filename)
		if err != nil {
			return nil, errs.BadInput("%v", err)
		}
		return []input{{name: filename, data: b}}, nil
	}
	var files []string
	err = filepath.WalkDir(filename, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".yaml", ".yml", ".json":
			if !d.IsDir() {
				files = append(files, path)
			}
		}
		return nil
	})
	if err != nil {
		return nil, errs.BadInput("%v", err)
	}
	if len(files) == 0 {
		return nil, errs.BadInput("%s: no .yaml, .yml or .json files", filename)
	}
	sort.Strings(files)
	inputs := make([]input, 0, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, errs.BadInput("%v", err)
		}
		inputs = append(inputs, input{name: f, data: b})
	}
	return inputs, nil
}

// joinOutputs concatenates per-file outputs into one stream, a `---` line between files.
func joinOutputs(outs [][]byte) []byte {
	var b []byte
	for i, o := range outs {
		if i > 0 {
			if len(b) > 0 && b[len(b)-1] != '\n' {
				b = append(b, '\n')
			}
			b = append(b, "---\n"...)
		}
		b = append(b, o...)
	}
	return b
}

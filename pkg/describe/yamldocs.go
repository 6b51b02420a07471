package describe

import (
	"bufio"
	"bytes"
	"regexp"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"skiff.dev/skiff/pkg/errs"
)

// yamlDoc is one document of a YAML stream and the line it starts on.
type yamlDoc struct {
	line int
	body []byte
}

// splitDocs cuts a stream at "---" lines, remembering where each document starts.
func splitDocs(data []byte) []yamlDoc {
	var docs []yamlDoc
	cur := yamlDoc{line: 1}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	n := 0
	for sc.Scan() {
		n++
		l := sc.Text()
		if strings.HasPrefix(l, "---") && strings.TrimSpace(strings.TrimLeft(l, "-")) == "" {
			docs = append(docs, cur)
			cur = yamlDoc{line: n + 1}
			continue
		}
		cur.body = append(cur.body, l...)
		cur.body = append(cur.body, '\n')
	}
	return append(docs, cur)
}

var yamlLine = regexp.MustCompile(`yaml: line (\d+): (.*)$`)

// checkSyntax reports the first YAML syntax error of a file at its line in the file, not in the
// document, which is what the YAML parser counts from.
func checkSyntax(file string, docs []yamlDoc) error {
	for _, d := range docs {
		// The same parser as the model's decoder, so the two agree on what is broken.
		_, err := yaml.YAMLToJSON(d.body)
		if err == nil {
			continue
		}
		msg := err.Error()
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			rel, _ := strconv.Atoi(m[1])
			return errs.BadInput("%s:%d: %s", file, d.line+rel-1, m[2])
		}
		return errs.BadInput("%s:%d: %s", file, d.line, strings.TrimPrefix(msg, "error converting YAML to JSON: "))
	}
	return nil
}

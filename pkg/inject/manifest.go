package inject

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"sigs.k8s.io/yaml"

	"skiff.dev/skiff/pkg/errs"
)

// Record reports what happened to one workload, for the stderr report.
type Record struct {
	Kind   string // as written in the manifest: Deployment, Pod, ...
	Name   string
	Verb   string // "injected" or "uninjected"; empty when skipped
	Reason string // why it was skipped
}

// String renders the record linkerd-style: `deployment "web" injected`, `pod "x" skipped: hostNetwork`.
func (r Record) String() string {
	if r.Verb != "" {
		return fmt.Sprintf("%s %q %s", strings.ToLower(r.Kind), r.Name, r.Verb)
	}
	return fmt.Sprintf("%s %q skipped: %s", strings.ToLower(r.Kind), r.Name, r.Reason)
}

// Result is a processed manifest. Output always holds every input document, in order: changed documents
// re-serialised, all others byte for byte as they were (comments, key order, formatting).
type Result struct {
	Output  []byte
	Records []Record
}

type templateOp func(w Workload, pod map[string]any) (Outcome, error)

// InjectManifest injects every pod template in a multi-document YAML (or JSON) manifest. source names the
// input in errors. The error, if any, is errs.BadInput listing each unusable document; Result is complete
// even then.
func (inj *Injector) InjectManifest(src []byte, source string) (*Result, error) {
	return process(src, source, inj.InjectTemplate, "injected")
}

// UninjectManifest removes what InjectManifest added, using each pod template's status annotation.
func UninjectManifest(src []byte, source string) (*Result, error) {
	op := func(_ Workload, pod map[string]any) (Outcome, error) {
		done, err := UninjectTemplate(pod)
		if err != nil || done {
			return Outcome{Injected: done}, err
		}
		return skipped("not injected"), nil
	}
	return process(src, source, op, "uninjected")
}

// document is one YAML document of a stream: the separator line that opened it (empty for the first) and
// its text, both verbatim.
type document struct {
	separator string
	text      string
	line      int // 1-based line of the document's first text line in the whole stream
}

func process(src []byte, source string, op templateOp, verb string) (*Result, error) {
	docs := splitDocuments(string(src))
	type outcome struct {
		text    string
		records []Record
		err     error
	}
	results := make([]outcome, len(docs))
	// Documents are independent: spread them over the cores, then assemble in input order.
	workers := min(runtime.GOMAXPROCS(0), len(docs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(docs); i = int(next.Add(1) - 1) {
				r := &results[i]
				r.text, r.records, r.err = processDocument(docs[i], op, verb)
			}
		}()
	}
	wg.Wait()

	res := &Result{}
	var problems []string
	var out bytes.Buffer
	out.Grow(len(src) * 4)
	for i, doc := range docs {
		r := results[i]
		out.WriteString(doc.separator)
		res.Records = append(res.Records, r.records...)
		if r.err != nil {
			problems = append(problems, fmt.Sprintf("%s: document %d%s", source, i+1, r.err))
			r.text = doc.text
		}
		out.WriteString(r.text)
	}
	res.Output = out.Bytes()
	if len(problems) > 0 {
		return res, errs.BadInput("%s", strings.Join(problems, "; "))
	}
	return res, nil
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// processDocument returns the document's new text (its original text when nothing changed). Errors start
// with " (line N): " so the caller can prefix the source and document index.
func processDocument(doc document, op templateOp, verb string) (string, []Record, error) {
	if isBlank(doc.text) {
		return doc.text, nil, nil
	}
	var obj any
	if err := yaml.Unmarshal([]byte(doc.text), &obj); err != nil {
		return "", nil, yamlError(doc, err)
	}
	m, ok := obj.(map[string]any)
	if !ok {
		return doc.text, nil, nil // not an object: nothing to inject, pass it through
	}
	changed, records, err := processObject(m, op, verb)
	if err != nil {
		return "", records, fmt.Errorf(" (line %d): %v", doc.line, err)
	}
	if !changed {
		return doc.text, records, nil
	}
	return leadingComments(doc.text) + string(marshalYAML(m)), records, nil
}

// leadingComments returns the comment lines that open a document; they usually describe it, so they are
// kept even when the document itself is re-serialised.
func leadingComments(text string) string {
	end := 0
	for end < len(text) {
		nl := strings.IndexByte(text[end:], '\n')
		if nl < 0 {
			break
		}
		if l := strings.TrimSpace(text[end : end+nl]); l != "" && !strings.HasPrefix(l, "#") {
			break
		}
		end += nl + 1
	}
	return text[:end]
}

func yamlError(doc document, err error) error {
	msg := strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
	msg = strings.TrimPrefix(msg, "yaml: ")
	line := doc.line
	if sm := yamlLine.FindStringSubmatch(msg); sm != nil {
		n, _ := strconv.Atoi(sm[1])
		line = doc.line + n - 1
		msg = strings.TrimPrefix(strings.Replace(msg, sm[0], "", 1), ": ")
	}
	return fmt.Errorf(" (line %d): invalid YAML: %s", line, msg)
}

// processObject applies op to each pod template in obj (a List's items included).
func processObject(obj map[string]any, op templateOp, verb string) (bool, []Record, error) {
	kind, _ := obj["kind"].(string)
	if items, ok := obj["items"].([]any); ok && strings.HasSuffix(kind, "List") {
		var records []Record
		var problems []error
		changed := false
		for i, it := range items {
			item, ok := it.(map[string]any)
			if !ok {
				continue
			}
			c, rs, err := processObject(item, op, verb)
			records = append(records, rs...)
			if err != nil {
				problems = append(problems, fmt.Errorf("items[%d]: %w", i, err))
			}
			changed = changed || c
		}
		return changed, records, errors.Join(problems...)
	}
	pod, ok := podTemplate(obj, kind)
	if !ok {
		return false, nil, nil
	}
	meta, _ := obj["metadata"].(map[string]any)
	w := Workload{Kind: kind, Name: str(meta["name"]), Namespace: str(meta["namespace"])}
	w.APIVersion, _ = obj["apiVersion"].(string)
	if w.Name == "" {
		w.Name = strings.TrimSuffix(str(meta["generateName"]), "-")
	}
	out, err := op(w, pod)
	rec := Record{Kind: kind, Name: w.Name, Reason: out.Reason}
	if err != nil {
		return false, nil, fmt.Errorf("%s %q: %w", strings.ToLower(kind), w.Name, err)
	}
	if out.Injected {
		rec.Verb = verb
	}
	return out.Injected, []Record{rec}, nil
}

// podTemplate finds the pod template of a workload kind; unknown kinds have none and pass through.
func podTemplate(obj map[string]any, kind string) (map[string]any, bool) {
	var path []string
	switch kind {
	case "Pod":
		return obj, true
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "DeploymentConfig":
		path = []string{"spec", "template"}
	case "CronJob":
		path = []string{"spec", "jobTemplate", "spec", "template"}
	default:
		return nil, false
	}
	cur := obj
	for _, p := range path {
		next, ok := cur[p].(map[string]any)
		if !ok {
			return map[string]any{}, true // a workload without a template: reported as skipped
		}
		cur = next
	}
	return cur, true
}

// splitDocuments splits a YAML stream on `---` lines, keeping every byte so untouched documents are
// written back verbatim.
func splitDocuments(s string) []document {
	var docs []document
	cur := document{line: 1}
	var text strings.Builder
	line := 1
	for len(s) > 0 {
		end := strings.IndexByte(s, '\n')
		var l string
		if end < 0 {
			l, s = s, ""
		} else {
			l, s = s[:end+1], s[end+1:]
		}
		if isSeparator(l) {
			cur.text = text.String()
			docs = append(docs, cur)
			text.Reset()
			cur = document{separator: l, line: line + 1}
		} else {
			text.WriteString(l)
		}
		line++
	}
	cur.text = text.String()
	return append(docs, cur)
}

func isSeparator(line string) bool {
	if !strings.HasPrefix(line, "---") {
		return false
	}
	rest := strings.TrimRight(line[3:], "\r\n")
	return rest == "" || rest[0] == ' ' || rest[0] == '\t'
}

// isBlank reports whether a document holds only whitespace and comments.
func isBlank(text string) bool {
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}

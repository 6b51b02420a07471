package inject

import (
	"bytes"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// marshalYAML writes a JSON-shaped value (maps, slices, strings, numbers, bools, nil) as block YAML with
// sorted keys, like sigs.k8s.io/yaml but without its JSON→YAML re-parse, which dominated injection time.
// Strings that YAML 1.1 could read as anything else are double-quoted (JSON escaping is valid YAML).
func marshalYAML(v any) []byte {
	var b bytes.Buffer
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 {
			return []byte("{}\n")
		}
		emitMap(&b, t, 0, false)
	case []any:
		if len(t) == 0 {
			return []byte("[]\n")
		}
		emitList(&b, t, 0, false)
	default:
		emitScalar(&b, v)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

const maxImplicitKey = 1000

func pad(b *bytes.Buffer, n int) {
	for i := 0; i < n; i++ {
		b.WriteByte(' ')
	}
}

// emitMap writes m at indent; inline means the caller already wrote the first line's indentation ("- ").
func emitMap(b *bytes.Buffer, m map[string]any, indent int, inline bool) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i > 0 || !inline {
			pad(b, indent)
		}
		if len(k) > maxImplicitKey {
			// YAML limits implicit keys to 1024 characters; longer ones need the explicit "? key" form.
			b.WriteString("? ")
			emitString(b, k)
			b.WriteByte('\n')
			pad(b, indent)
			b.WriteByte(':')
			if l, ok := normalise(m[k]).([]any); ok && len(l) > 0 {
				b.WriteByte('\n')
				emitList(b, l, indent+2, false)
				continue
			}
			emitValue(b, m[k], indent, true)
			continue
		}
		emitString(b, k)
		b.WriteByte(':')
		emitValue(b, m[k], indent, true)
	}
}

func emitList(b *bytes.Buffer, l []any, indent int, inline bool) {
	for i, e := range l {
		if i > 0 || !inline {
			pad(b, indent)
		}
		b.WriteString("-")
		emitValue(b, e, indent+2, false)
	}
}

// emitValue writes what follows "key:" or "-": a scalar on the same line, a collection on the next lines.
func emitValue(b *bytes.Buffer, v any, indent int, inMap bool) {
	switch t := normalise(v).(type) {
	case map[string]any:
		if len(t) == 0 {
			b.WriteString(" {}\n")
			return
		}
		if inMap {
			b.WriteByte('\n')
			emitMap(b, t, indent+2, false)
			return
		}
		b.WriteByte(' ')
		emitMap(b, t, indent, true)
	case []any:
		if len(t) == 0 {
			b.WriteString(" []\n")
			return
		}
		if inMap {
			b.WriteByte('\n')
			emitList(b, t, indent, false) // lists under a key are not indented further, as kubectl writes them
			return
		}
		b.WriteByte(' ')
		emitList(b, t, indent, true)
	default:
		b.WriteByte(' ')
		emitScalar(b, t)
		b.WriteByte('\n')
	}
}

// normalise turns typed collections that may slip in (map[string]string, []string, ...) into JSON shapes.
func normalise(v any) any {
	switch t := v.(type) {
	case nil, map[string]any, []any, string, bool, float64, int, int64, int32, json.Number:
		return v
	case []map[string]any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = e
		}
		return out
	default:
		var out any
		if bs, err := json.Marshal(v); err == nil && json.Unmarshal(bs, &out) == nil {
			return out
		}
		return nil
	}
}

func emitScalar(b *bytes.Buffer, v any) {
	switch t := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(t))
	case string:
		emitString(b, t)
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1e15 {
			b.WriteString(strconv.FormatInt(int64(t), 10))
		} else {
			b.WriteString(strconv.FormatFloat(t, 'g', -1, 64))
		}
	case int:
		b.WriteString(strconv.Itoa(t))
	case int64:
		b.WriteString(strconv.FormatInt(t, 10))
	case int32:
		b.WriteString(strconv.FormatInt(int64(t), 10))
	case json.Number:
		b.WriteString(t.String())
	}
}

func emitString(b *bytes.Buffer, s string) {
	if plainSafe(s) {
		b.WriteString(s)
		return
	}
	if utf8.ValidString(s) && !hasControl(s) && len(s) <= maxImplicitKey {
		// single quotes escape nothing but themselves: embedded JSON stays readable
		b.WriteByte('\'')
		b.WriteString(strings.ReplaceAll(s, "'", "''"))
		b.WriteByte('\'')
		return
	}
	q, _ := json.Marshal(s) // JSON escapes are valid in YAML double-quoted scalars
	b.Write(q)
}

// plainSafe reports whether s reads back as the same string when written unquoted, under YAML 1.1 (which
// sigs.k8s.io/yaml and kubectl use): a conservative character set, a letter-like first character (so no
// numbers, timestamps or indicators), and none of the words YAML 1.1 turns into booleans or null.
func plainSafe(s string) bool {
	if s == "" {
		return false
	}
	switch c := s[0]; {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '/', c == '_', c == '$':
	case c == '-' && len(s) > 1 && (s[1] == '-' || s[1] >= 'a' && s[1] <= 'z' || s[1] >= 'A' && s[1] <= 'Z'): // --flags
	default:
		return false
	}
	last := len(s) - 1
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '_', c == '/', c == '$', c == '(', c == ')', c == '=', c == '+', c == '@', c == ',', c == '-':
		case c == ':': // "a: b" and a trailing colon read as a mapping
			if i == last || s[i+1] == ' ' {
				return false
			}
		case c == ' ': // trailing spaces are lost, " #" starts a comment
			if i == last || s[i+1] == '#' {
				return false
			}
		default:
			return false
		}
	}
	if len(s) <= 5 {
		switch strings.ToLower(s) {
		case "y", "n", "yes", "no", "on", "off", "true", "false", "null":
			return false
		}
	}
	return true
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

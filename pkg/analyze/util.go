package analyze

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// selectorString prints labels as Kubernetes does ("app=x,version=v1"), sorted.
func selectorString(sel map[string]string) string {
	parts := make([]string, 0, len(sel))
	for _, k := range sortedKeys(sel) {
		parts = append(parts, k+"="+sel[k])
	}
	return strings.Join(parts, ",")
}

func resourceNames(rs []*Resource) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Key.Namespace+"/"+r.Key.Name)
	}
	return out
}

func itoa(i int) string { return fmt.Sprint(i) }

func asError[T error](err error, target *T) bool { return errors.As(err, target) }

package kube

import (
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

type schemaGK = schema.GroupKind

// firstLine keeps error messages to one line; client-go errors can carry multi-line bodies.
func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

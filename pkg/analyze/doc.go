// Package analyze implements `skiff analyze`: it loads Kubernetes and Istio objects from files, stdin and/or a
// live cluster, runs analyzers over the merged snapshot and reports messages that use Istio's message codes
// (IST0xxx, so existing suppressions and runbooks carry over) plus Skiff's own (SKF0xxx), each with the
// object's file and line.
//
// The pipeline is: load (load.go, document.go, cluster.go) → decode and schema-check (schema.go, kinds.go)
// → snapshot (snapshot.go) → analyzers (analyzer_*.go) → suppression (suppress.go) → output (output*.go).
package analyze

//go:generate go run ./internal/gendocs ../../docs/analyzers

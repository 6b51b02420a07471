// Command gendocs writes docs/analyzers from the message catalogue: go generate ./pkg/analyze.
package main

import (
	"fmt"
	"os"

	"skiff.dev/skiff/pkg/analyze"
)

func main() {
	dir := analyze.DocsDir
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	if err := analyze.WriteDocs(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// Command benchgen writes the analyze benchmark's input: benchgen <dir> <resources>.
package main

import (
	"fmt"
	"os"
	"strconv"

	"skiff.dev/skiff/pkg/analyze/internal/benchdata"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: benchgen <dir> <resources>")
		os.Exit(64)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err == nil {
		err = os.MkdirAll(os.Args[1], 0o755)
	}
	if err == nil {
		_, err = benchdata.Write(os.Args[1], n)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// Command gencrds writes pkg/install/crds/crds.gen.json: the CRDs of the Istio kinds Skiff accepts, taken
// from the istio.io/api module this repository builds against. Run it with `go generate ./pkg/install/crds`.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"skiff.dev/skiff/pkg/install/crds"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gencrds:", err)
		os.Exit(1)
	}
}

func run() error {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}\t{{.Path}}@{{.Version}}", "istio.io/api").Output()
	if err != nil {
		return fmt.Errorf("locating istio.io/api: %v", err)
	}
	dir, module, _ := strings.Cut(strings.TrimSpace(string(out)), "\t")
	source, err := os.ReadFile(filepath.Join(dir, crds.SourcePath))
	if err != nil {
		return err
	}
	gen, err := crds.Generate(source, module+" "+crds.SourcePath)
	if err != nil {
		return err
	}
	target := "crds.gen.json"
	if len(os.Args) > 1 {
		target = os.Args[1]
	}
	return os.WriteFile(target, gen, 0o644)
}

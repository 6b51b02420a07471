package install

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/ui"
)

// confirm asks on the terminal before the cluster is changed. Without a terminal there is nobody to
// answer, so -y is the only way to proceed: a script must say what it means.
func confirm(s ui.Streams, yes bool, question string) error {
	if yes {
		return nil
	}
	if f, ok := s.In.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		return errs.Usage("refusing to change the cluster without confirmation: stdin is not a terminal; pass -y to proceed")
	}
	fmt.Fprintf(s.Out, "%s [y/N] ", question)
	if !answeredYes(s.In) {
		return errs.Failure("aborted: nothing was changed")
	}
	return nil
}

// answeredYes reads one line and accepts y or yes, in any case; anything else, including EOF, is no.
func answeredYes(r io.Reader) bool {
	line, _ := bufio.NewReader(r).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true
	}
	return false
}

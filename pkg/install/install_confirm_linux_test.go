//go:build linux

package install

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/ui"
)

// openPTY opens a pseudo-terminal pair so the prompt can be tested on a real terminal device.
func openPTY(t *testing.T) (controller, terminal *os.File) {
	t.Helper()
	controller, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { controller.Close() })
	fd := int(controller.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	terminal, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { terminal.Close() })
	return controller, terminal
}

func TestConfirmOnATerminal(t *testing.T) {
	for answer, wantOK := range map[string]bool{"y\n": true, "no\n": false} {
		controller, terminal := openPTY(t)
		if _, err := controller.WriteString(answer); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		err := confirm(ui.Streams{In: terminal, Out: &out, Err: &out}, false, "Install the demo profile?")
		if out.String() != "Install the demo profile? [y/N] " {
			t.Errorf("prompt %q", out.String())
		}
		if wantOK && err != nil {
			t.Errorf("answer %q: %v", answer, err)
		}
		if !wantOK && (err == nil || errs.Code(err) != errs.ExitFailure || err.Error() != "aborted: nothing was changed") {
			t.Errorf("answer %q: got %v, want an abort", answer, err)
		}
	}
}

package install

import (
	"bytes"
	"strings"
	"testing"

	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/ui"
)

func TestConfirmWithoutTerminalNeedsYes(t *testing.T) {
	s := ui.Streams{In: strings.NewReader("y\n"), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}
	err := confirm(s, false, "Install?")
	if errs.Code(err) != errs.ExitUsage || !strings.Contains(err.Error(), "pass -y") {
		t.Fatalf("piped stdin without -y: got %v (exit %d), want a usage error telling to pass -y", err, errs.Code(err))
	}
	if err := confirm(s, true, "Install?"); err != nil {
		t.Fatalf("-y must proceed without asking: %v", err)
	}
}

func TestAnsweredYes(t *testing.T) {
	for in, want := range map[string]bool{"y\n": true, "YES\n": true, " yes ": true, "n\n": false, "\n": false, "": false, "yep\n": false} {
		if got := answeredYes(strings.NewReader(in)); got != want {
			t.Errorf("answeredYes(%q) = %v, want %v", in, got, want)
		}
	}
}

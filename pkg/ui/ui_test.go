package ui

import (
	"bytes"
	"errors"
	"testing"
)

func TestPlainWhenNotTerminal(t *testing.T) {
	var b bytes.Buffer
	p := NewPrinter(&b)
	if p.Styled() {
		t.Fatal("a bytes.Buffer is not a terminal; output must be plain")
	}
	p.Success("Controller installed")
	p.Failure("broken")
	p.Error(errors.New("boom"))
	p.Table([]string{"NAME", "STATUS"}, [][]string{{"a", "ok"}, {"longer-name", "fail"}})
	want := "✔ Controller installed\n✘ broken\nError: boom\nNAME          STATUS\na             ok\nlonger-name   fail\n"
	if b.String() != want {
		t.Fatalf("got\n%q\nwant\n%q", b.String(), want)
	}
}

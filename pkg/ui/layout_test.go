package ui

import (
	"bytes"
	"testing"
)

func TestSectionsPlain(t *testing.T) {
	var b bytes.Buffer
	p := NewPrinter(&b)
	p.Sections([]Section{
		{Title: "Pod web.shop", Lines: Fields([][2]string{{"Labels", "app=web"}, {"Service account", "web"}})},
		{Title: "Routes", Lines: []string{"VirtualService shop/web", "  http[0]: all requests -> web 100%", "! warning "}},
	})
	want := `Pod web.shop
  Labels:           app=web
  Service account:  web

Routes
  VirtualService shop/web
    http[0]: all requests -> web 100%
  ! warning
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

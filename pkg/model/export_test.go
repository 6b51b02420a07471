package model

import "testing"

func TestVisible(t *testing.T) {
	for _, c := range []struct {
		exportTo  []string
		ns, proxy string
		want      bool
	}{
		{nil, "a", "b", true},
		{[]string{"*"}, "a", "b", true},
		{[]string{"."}, "a", "a", true},
		{[]string{"."}, "a", "b", false},
		{[]string{"~"}, "a", "a", false},
		{[]string{"b", "c"}, "a", "c", true},
		{[]string{"b"}, "a", "a", false},
	} {
		if got := Visible(c.exportTo, c.ns, c.proxy); got != c.want {
			t.Errorf("Visible(%v, %s, %s) = %v, want %v", c.exportTo, c.ns, c.proxy, got, c.want)
		}
	}
}

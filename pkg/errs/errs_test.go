package errs

import (
	"errors"
	"fmt"
	"testing"
)

func TestCode(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("plain"), 1},
		{Failure("x"), 1},
		{Usage("x"), 64},
		{BadInput("x"), 65},
		{IssuesFound("x"), 79},
		{fmt.Errorf("wrapped: %w", BadInput("inner")), 65},
	}
	for _, c := range cases {
		if got := Code(c.err); got != c.want {
			t.Errorf("Code(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

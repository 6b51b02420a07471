package agent

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"skiff.dev/skiff/pkg/errs"
)

// WaitOptions are `skiff agent wait`, the postStart hook that holds the app until the proxy is ready.
type WaitOptions struct {
	URL      string
	Timeout  time.Duration
	Interval time.Duration
	Out      io.Writer
}

// Wait polls URL until it answers 200, or fails once Timeout has passed with the last reason.
func Wait(ctx context.Context, o WaitOptions) error {
	if o.URL == "" || o.Timeout <= 0 {
		return errs.Usage("wait needs --url and a positive --timeout")
	}
	interval := o.Interval
	if interval <= 0 {
		interval = 500 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	last := "no answer"
	for {
		code, body, err := localRequest(ctx, http.MethodGet, o.URL, interval)
		switch {
		case err == nil && code == http.StatusOK:
			fmt.Fprintln(o.Out, "proxy is ready")
			return nil
		case err == nil:
			last = fmt.Sprintf("%d %s", code, strings.TrimSpace(string(body)))
		case ctx.Err() == nil:
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return errs.Failure("proxy not ready after %s: %s", o.Timeout, last)
		case <-time.After(interval):
		}
	}
}

// RequestOptions are `skiff agent request METHOD PATH`: one call to the local agent or Envoy admin.
type RequestOptions struct {
	Method    string
	Path      string
	DebugPort int
	Out       io.Writer
}

// Request sends the request to localhost:DebugPort and prints the body; a non-2xx answer is an error.
func Request(ctx context.Context, o RequestOptions) error {
	method := strings.ToUpper(o.Method)
	if method == "" || o.DebugPort <= 0 || o.DebugPort > 65535 {
		return errs.Usage("request needs a METHOD and a --debug-port between 1 and 65535")
	}
	path := o.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	url := fmt.Sprintf("http://localhost:%d%s", o.DebugPort, path)
	code, body, err := localRequest(ctx, method, url, 30*time.Second)
	if err != nil {
		return errs.Failure("%s %s: %v", method, url, err)
	}
	_, _ = o.Out.Write(body)
	if code < 200 || code > 299 {
		return errs.Failure("%s %s: %d %s", method, url, code, http.StatusText(code))
	}
	return nil
}

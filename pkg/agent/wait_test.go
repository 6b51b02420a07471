package agent

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"skiff.dev/skiff/pkg/errs"
)

func TestWaitUntilReady(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) < 3 {
			http.Error(w, "envoy is not ready", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	var out bytes.Buffer
	if err := Wait(context.Background(), WaitOptions{URL: srv.URL, Timeout: 5 * time.Second, Interval: 10 * time.Millisecond, Out: &out}); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 || !strings.Contains(out.String(), "ready") {
		t.Fatalf("%d calls, output %q; want ready on the third", calls.Load(), out.String())
	}
}

func TestWaitTimesOut(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no workload certificate yet", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	start := time.Now()
	err := Wait(context.Background(), WaitOptions{URL: srv.URL, Timeout: 300 * time.Millisecond, Interval: 20 * time.Millisecond, Out: io.Discard})
	if errs.KindOf(err) != errs.KindFailure || !strings.Contains(err.Error(), "no workload certificate yet") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("got %v, want one line with the last reason", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Fatalf("took %s for a 300ms timeout", elapsed)
	}
	srv.Close()
	if err := Wait(context.Background(), WaitOptions{URL: srv.URL, Timeout: 100 * time.Millisecond, Out: io.Discard}); !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("nothing listening: got %v", err)
	}
}

func TestRequest(t *testing.T) {
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Method + " " + r.URL.String())
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, "OK\n")
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())

	var out bytes.Buffer
	if err := Request(context.Background(), RequestOptions{Method: "post", Path: "drain", DebugPort: port, Out: &out}); err != nil {
		t.Fatal(err)
	}
	if got.Load() != "POST /drain" || out.String() != "OK\n" {
		t.Fatalf("server saw %q, printed %q", got.Load(), out.String())
	}
	if err := Request(context.Background(), RequestOptions{Method: "GET", Path: "/stats?filter=server", DebugPort: port, Out: io.Discard}); err != nil || got.Load() != "GET /stats?filter=server" {
		t.Fatalf("query: %v, server saw %q", err, got.Load())
	}
	if err := Request(context.Background(), RequestOptions{Method: "GET", Path: "/missing", DebugPort: port, Out: io.Discard}); errs.KindOf(err) != errs.KindFailure || !strings.Contains(err.Error(), "404") {
		t.Fatalf("404: got %v", err)
	}
	if err := Request(context.Background(), RequestOptions{Method: "GET", Path: "/", DebugPort: 0, Out: io.Discard}); errs.KindOf(err) != errs.KindUsage {
		t.Fatalf("port 0: got %v", err)
	}
}

package controller

import (
	"bytes"
	"context"
	"log/slog"
	"runtime/debug"
	"testing"

	"skiff.dev/skiff/pkg/errs"
)

func TestNewLogger(t *testing.T) {
	for level, want := range map[string]slog.Level{
		"default:info": slog.LevelInfo, "debug": slog.LevelDebug, "ads:debug,default:warn": slog.LevelWarn, "": slog.LevelInfo,
	} {
		var buf bytes.Buffer
		log, err := NewLogger(&buf, level, false)
		if err != nil {
			t.Fatalf("%q: %v", level, err)
		}
		if !log.Enabled(context.Background(), want) || (want > slog.LevelDebug && log.Enabled(context.Background(), want-4)) {
			t.Errorf("%q: wrong level", level)
		}
	}
	if _, err := NewLogger(&bytes.Buffer{}, "default:loud", false); errs.KindOf(err) != errs.KindUsage {
		t.Errorf("bad level: got %v, want a usage error", err)
	}
	var buf bytes.Buffer
	log, _ := NewLogger(&buf, "info", true)
	log.Info("hello", "k", "v")
	if !bytes.HasPrefix(buf.Bytes(), []byte("{")) {
		t.Errorf("--log_as_json wrote %q", buf.String())
	}
}

// TestApplyMemoryLimit: the installer's MEMORY_LIMIT becomes a Go soft limit of 3/4 of it, unless
// GOMEMLIMIT is set.
func TestApplyMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	quiet := slog.New(slog.DiscardHandler)

	applyMemoryLimit(env(map[string]string{"MEMORY_LIMIT": "400000000"}), quiet)
	if got := debug.SetMemoryLimit(-1); got != 300000000 {
		t.Fatalf("Go memory limit %d, want 3/4 of 400000000", got)
	}
	applyMemoryLimit(env(map[string]string{"MEMORY_LIMIT": "800000000", "GOMEMLIMIT": "100MiB"}), quiet)
	if got := debug.SetMemoryLimit(-1); got != 300000000 {
		t.Fatalf("an explicit GOMEMLIMIT was overridden: %d", got)
	}
	applyMemoryLimit(env(map[string]string{"MEMORY_LIMIT": "not a number"}), quiet)
	if got := debug.SetMemoryLimit(-1); got != 300000000 {
		t.Fatalf("a bad MEMORY_LIMIT changed the limit: %d", got)
	}
}

package controller

import (
	"bytes"
	"context"
	"log/slog"
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

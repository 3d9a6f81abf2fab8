package main

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestLogBuffer checks that a WARN record is written at once, with the
// lines that waited before it and in their order, and that an INFO line
// alone is written within a moment.
func TestLogBuffer(t *testing.T) {
	var out syncBuffer
	buf := newLogBuffer(&out)
	log := slog.New(logHandler{slog.NewTextHandler(buf, nil), buf}).With("host", "a")
	log.Info("first")
	log.Warn("second")
	if got := out.String(); !strings.Contains(got, "msg=first host=a\n") || !strings.Contains(got, "msg=second host=a\n") ||
		strings.Index(got, "first") > strings.Index(got, "second") {
		t.Fatalf("after a WARN record, the log holds %q", got)
	}
	log.Info("third")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "msg=third") {
		if time.Now().After(deadline) {
			t.Fatalf("an INFO line not written in 10 s: %q", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

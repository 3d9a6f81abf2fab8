package main

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestLogBuffer checks that a WARN record is written at once, with the
// lines that waited before it and in their order, and that an INFO line
// alone is written within a moment: through the logger's own handler
// (appendText's lines) and through one with an attribute (the
// TextHandler's).
func TestLogBuffer(t *testing.T) {
	for _, with := range []bool{false, true} {
		var out syncBuffer
		buf := newLogBuffer(&out)
		log, tail := slog.New(newLogHandler(buf, slog.LevelInfo)), "\n"
		if with {
			log, tail = log.With("host", "a"), " host=a\n"
		}
		log.Info("first")
		log.Warn("second")
		if got := out.String(); !strings.Contains(got, "level=INFO msg=first"+tail) || !strings.Contains(got, "level=WARN msg=second"+tail) ||
			strings.Index(got, "first") > strings.Index(got, "second") {
			t.Fatalf("after a WARN record, the log holds %q", got)
		}
		log.Debug("not logged")
		log.Info("third")
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), "msg=third"+tail) {
			if time.Now().After(deadline) {
				t.Fatalf("an INFO line not written in 10 s: %q", out.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
		if strings.Contains(out.String(), "not logged") {
			t.Errorf("a DEBUG line at INFO: %q", out.String())
		}
	}
}

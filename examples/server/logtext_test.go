package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestAppendText holds appendText to slog.TextHandler's output, byte for
// byte, for every string that quoting treats apart (each ASCII byte
// alone and within words, the empty string), as message, key and value,
// for integers, booleans, durations, levels and times (zero, UTC,
// another zone, the same second in two zones, with a monotonic reading,
// years outside 0 to 9999); and checks that it declines
// what it leaves to the TextHandler.
func TestAppendText(t *testing.T) {
	var text bytes.Buffer
	h := slog.NewTextHandler(&text, nil)
	check := func(r slog.Record, want bool) {
		t.Helper()
		text.Reset()
		if err := h.Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		got, ok := appendText([]byte("before "), r)
		switch {
		case ok != want:
			t.Errorf("%v: appendText reports %v, want %v (TextHandler: %q)", r, ok, want, text.String())
		case !ok && string(got) != "before ":
			t.Errorf("%v: appendText declined, having appended %q", r, got)
		case ok && string(got) != "before "+text.String():
			t.Errorf("appendText wrote %q\nTextHandler     %q", got[len("before "):], text.String())
		}
	}
	strs := []string{"", "GET", "/api/v4/personal_access_tokens/self", "http request", "a=b", `a"b`, `a\b`, "a\tb", "é", "149µs"}
	for c := range 0x80 {
		// Alone, within a word, and in a string quoted for its space.
		strs = append(strs, string(rune(c)), "x"+string(rune(c))+"y", "q "+string(rune(c)))
	}
	paris := time.FixedZone("CET", 3600)
	inParis := time.Date(2026, 1, 2, 3, 4, 5, 60_000_000, paris)
	times := []time.Time{{}, time.Now(), time.Date(2026, 12, 4, 3, 5, 23, 999_999_999, time.UTC),
		// The same second in two zones, one after the other.
		inParis, inParis.Add(time.Millisecond).In(time.UTC), time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		// Before 1970; beyond 9999 and before year 0, which the second's
		// cache leaves to time.Format.
		time.Date(1969, 12, 31, 23, 59, 59, 500_000_000, paris),
		time.Date(10000, 1, 2, 3, 4, 5, 6_000_000, time.UTC), time.Date(-1, 1, 2, 3, 4, 5, 6_000_000, time.UTC)}
	for _, s := range strs {
		ascii := !strings.ContainsFunc(s, func(r rune) bool { return r >= utf8.RuneSelf })
		r := slog.NewRecord(times[1], slog.LevelInfo, s, 0)
		check(r, ascii)
		r = slog.NewRecord(times[1], slog.LevelInfo, "m", 0)
		r.AddAttrs(slog.String("k", s))
		check(r, ascii)
		r = slog.NewRecord(times[1], slog.LevelInfo, "m", 0)
		r.AddAttrs(slog.Int("k", 1), slog.Bool(s, true))
		check(r, ascii && s != "")
	}
	for _, tm := range times {
		for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn + 2, slog.LevelError - 1, 12} {
			r := slog.NewRecord(tm, level, "http request", 0)
			r.AddAttrs(slog.String("method", "GET"), slog.String("path", "/api/v4/personal_access_tokens?page=2&per_page=20"),
				slog.Int("status", 200), slog.Int64("bytes", -280), slog.Uint64("big", 1<<63),
				slog.Bool("ok", false), slog.Duration("duration", 149574*time.Nanosecond), slog.Duration("long", -2*time.Hour))
			check(r, true)
		}
	}
	// Left to the TextHandler.
	for _, a := range []slog.Attr{slog.Float64("f", 1.5), slog.Time("t", times[1]), slog.Any("err", context.Canceled),
		slog.Group("g", "k", 1), slog.Any("v", valuer{}), slog.String("é", "x"), slog.String("", "x")} {
		r := slog.NewRecord(times[1], slog.LevelInfo, "m", 0)
		r.AddAttrs(slog.Int("k", 1), a)
		check(r, false)
	}
}

// valuer is a slog.LogValuer, which appendText leaves to the TextHandler.
type valuer struct{}

func (valuer) LogValue() slog.Value { return slog.StringValue("x") }

// BenchmarkRequestLine is httpapi's record of a request through appendText
// and through the TextHandler.
func BenchmarkRequestLine(b *testing.B) {
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "http request", 0)
	r.AddAttrs(slog.String("method", "GET"), slog.String("path", "/api/v4/personal_access_tokens/self"),
		slog.Int("status", 200), slog.Int64("bytes", 280), slog.Duration("duration", 149574*time.Nanosecond))
	b.Run("appendText", func(b *testing.B) {
		buf := make([]byte, 0, 512)
		for b.Loop() {
			buf, _ = appendText(buf[:0], r)
		}
	})
	b.Run("TextHandler", func(b *testing.B) {
		var buf bytes.Buffer
		h := slog.NewTextHandler(&buf, nil)
		for b.Loop() {
			buf.Reset()
			h.Handle(context.Background(), r)
		}
	})
}

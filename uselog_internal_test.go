package patkit

import (
	"testing"
	"time"
)

// TestUseLogPrunes: the log of last-used writes stays bounded by the
// tokens written within the interval, and keeps those.
func TestUseLogPrunes(t *testing.T) {
	var l useLog
	start := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	const interval = 10 * time.Minute
	// One write per second: at most 600 are younger than the interval.
	for id := range int64(10_000) {
		now := start.Add(time.Duration(id) * time.Second)
		if _, ok := l.acquire(id); !ok {
			t.Fatalf("token %d: busy", id)
		}
		l.release(id, &Token{ID: id, LastUsedAt: now}, now, interval)
	}
	if n := len(l.m); n > 2*1024 {
		t.Errorf("%d entries after 10,000 writes of which 600 are recent", n)
	}
	last, ok := l.acquire(9_999)
	if !ok || last == nil || last.ID != 9_999 {
		t.Fatalf("acquire(9999) = %v, %v: the newest write was dropped", last, ok)
	}
	if _, ok := l.acquire(9_999); ok {
		t.Error("a second acquire succeeded while a write is in progress")
	}
}

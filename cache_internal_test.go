package patkit

import (
	"crypto/sha256"
	"sync"
	"testing"
	"time"
)

// TestCacheBookkeeping churns a small cache from several goroutines (run
// with -race) and then checks that its counts match its maps, that it
// holds no more than its size, and that every token's key leads back to
// that token.
func TestCacheBookkeeping(t *testing.T) {
	const size = 8
	c := newAuthCache(size, time.Hour)
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	key := func(i int) cacheKey { return sha256.Sum256([]byte{byte(i)}) }
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				id := int64((g*7 + i) % 20)
				k := key(int(id))
				_, _, v := c.get(k)
				tok := c.put(k, &Token{ID: id}, now, now, v)
				switch i % 5 {
				case 1:
					c.replace(tok, &Token{ID: id, LastUsedAt: now})
				case 2:
					c.invalidate(id)
				case 3:
					c.putUnknown(key(100+i%30), now)
				case 4:
					c.known(key(100 + (i-1)%30)) // the one put just before
				}
			}
		})
	}
	wg.Wait()
	c.put(key(1), &Token{ID: 1}, now, now, c.version.Load())
	entries, unknown := 0, 0
	c.entries.Range(func(k, v any) bool {
		entries++
		if id := v.(*cacheEntry).tok.ID; c.byID[id] != k.(cacheKey) {
			t.Errorf("token %d: byID does not lead to its entry", id)
		}
		return true
	})
	c.unknown.Range(func(any, any) bool { unknown++; return true })
	if entries != c.nEntries || entries != len(c.byID) || entries > size || entries == 0 {
		t.Errorf("%d entries, nEntries %d, %d in byID; want equal, 1 to %d", entries, c.nEntries, len(c.byID), size)
	}
	if unknown != c.nUnknown || unknown > size {
		t.Errorf("%d unknown keys, nUnknown %d; want equal, at most %d", unknown, c.nUnknown, size)
	}
	if e, _, _ := c.get(key(1)); e == nil || e.tok.ID != 1 {
		t.Error("the token just put is not cached")
	}
}

package patkit

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Watcher is an optional ability of a Store whose storage is shared by
// several processes: a feed of the tokens revoked through any handle, so
// that every Service can drop them from its authentication cache at once.
// A Service finds it by type assertion; see Service.Watch.
type Watcher interface {
	// Watch blocks until ctx is done or the feed fails for good. It calls
	// revoked with the ID of each token revoked (by Revoke or Rotate)
	// anywhere, and stale whenever notifications may have been missed: when
	// the feed starts, when it loses its connection and again once it has
	// reconnected. Calls are not concurrent.
	Watch(ctx context.Context, revoked func(id int64), stale func()) error
}

// Watch keeps s's authentication cache coherent with revocations made by
// other processes on the same storage, for as long as ctx lives; run it in
// a goroutine of its own, as http.Server.Serve. It returns
// errors.ErrUnsupported if the Store is not a Watcher, in which case a
// revocation elsewhere takes effect here within Options.CacheTTL.
// Revocations made through s itself take effect at once, watched or not.
//
// When the feed reports a gap (its connection dropped), every cached token
// is dropped: s then asks the Store on each request, so while the database
// is unreachable requests fail with ErrUnavailable rather than being
// served from a cache that may hold revoked tokens. Security wins over
// availability.
func (s *Service) Watch(ctx context.Context) error {
	w, ok := s.store.(Watcher)
	if !ok {
		return errors.ErrUnsupported
	}
	return w.Watch(ctx, s.cache.invalidate, s.cache.purge)
}

// authCache holds recently authenticated tokens by digest, so that a
// known token authenticates with no storage round trip. Entries live at
// most ttl; revocation through this Service removes them at once. When full
// it evicts an arbitrary entry. A nil *authCache caches nothing.
type authCache struct {
	ttl time.Duration
	max int

	mu      sync.RWMutex
	byKey   map[string]*cacheEntry
	byID    map[int64]string
	version uint64 // bumped by every invalidation
}

type cacheEntry struct {
	tok     *Token // immutable once cached
	fetched time.Time
}

func newAuthCache(size int, ttl time.Duration) *authCache {
	if size <= 0 || ttl <= 0 {
		return nil
	}
	return &authCache{ttl: ttl, max: size, byKey: make(map[string]*cacheEntry), byID: make(map[int64]string)}
}

// get returns a copy of the cached token for digest if it is fresh at now,
// and the cache version to pass to put after a storage lookup.
func (c *authCache) get(digest []byte, now time.Time) (*Token, uint64) {
	if c == nil {
		return nil, 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.byKey[string(digest)]
	if !ok || now.Sub(e.fetched) >= c.ttl || now.Before(e.fetched) {
		return nil, c.version // a stale entry is replaced by put
	}
	return e.tok.Clone(), c.version
}

// put caches a copy of t as read from storage at now, unless an
// invalidation happened since version was read: the token read may then be
// older than the revocation.
func (c *authCache) put(t *Token, now time.Time, version uint64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if version != c.version {
		return
	}
	c.set(t, now)
}

// update replaces the cached copy of t, if t is cached, keeping its age.
func (c *authCache) update(t *Token) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if key, ok := c.byID[t.ID]; ok {
		c.byKey[key] = &cacheEntry{tok: t.Clone(), fetched: c.byKey[key].fetched}
	}
}

func (c *authCache) set(t *Token, now time.Time) {
	key := string(t.Digest)
	if _, ok := c.byKey[key]; !ok && len(c.byKey) >= c.max {
		for k, e := range c.byKey {
			delete(c.byKey, k)
			delete(c.byID, e.tok.ID)
			break
		}
	}
	c.byKey[key] = &cacheEntry{tok: t.Clone(), fetched: now}
	c.byID[t.ID] = key
}

func (c *authCache) remove(id int64) {
	if key, ok := c.byID[id]; ok {
		delete(c.byKey, key)
		delete(c.byID, id)
	}
}

// invalidate drops the token with the given ID.
func (c *authCache) invalidate(id int64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.version++
	c.remove(id)
}

// purge drops everything.
func (c *authCache) purge() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.version++
	clear(c.byKey)
	clear(c.byID)
}

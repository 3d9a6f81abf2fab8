package patkit

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Watcher is an optional ability of a Store whose storage is shared by
// several processes: a feed of the tokens revoked through any handle, so
// that every Service can drop them from its authentication cache at once.
// A Service finds it by type assertion; see Service.Watch.
type Watcher interface {
	// Watch blocks until ctx is done or the feed fails for good. It calls
	// revoked with the ID of each token revoked (by Revoke, Rotate or
	// RevokeDescendants) anywhere, and of each rotated-out token whose
	// grace those end (its Rotated cleared), and stale whenever notifications may
	// have been missed: when the feed starts, when it loses its connection
	// and again once it has reconnected. Calls are not concurrent.
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

// authCache holds recently authenticated tokens, so that a known token
// authenticates with no storage round trip and no HMAC: entries are found
// by the SHA-256 of the secret (key), one hash instead of HMAC's two,
// and the keyed digest is computed only to ask the Store. Entries live at
// most ttl; revocation through this Service removes them at once. When full
// it evicts an arbitrary entry. A nil *authCache caches nothing.
//
// A cached *Token is an immutable snapshot, handed out as it is: a new last
// use replaces the snapshot (replace) rather than changing it, and only if
// it is still the one cached, so a request that read a token before its
// revocation can never write the unrevoked copy back.
//
// Reads take no lock and write no shared memory (sync.Map, an atomic
// version), so that cores authenticating at once do not contend for a
// lock's cache line; writes are serialized by mu.
type authCache struct {
	ttl time.Duration
	max int

	entries sync.Map      // cacheKey → *cacheEntry
	unknown sync.Map      // cacheKey of no token → time.Time it was seen so
	version atomic.Uint64 // bumped by every invalidation

	mu       sync.Mutex
	byID     map[int64]cacheKey // the key of each token cached
	nEntries int                // len(entries)
	nUnknown int                // len(unknown)
}

// cacheKey is the SHA-256 of a secret.
type cacheKey = [sha256.Size]byte

type cacheEntry struct {
	tok     *Token    // immutable
	fetched time.Time // Service.clock's now when tok was read
	mono    time.Time // and its monotonic reading

	// principal is the last Principal made for tok (Service.principal),
	// handed out again to the next request of the same user and address.
	principal atomic.Pointer[Principal]
}

func newAuthCache(size int, ttl time.Duration) *authCache {
	if size <= 0 || ttl <= 0 {
		return nil
	}
	return &authCache{ttl: ttl, max: size, byID: make(map[int64]cacheKey)}
}

// key returns the key of secret in the cache: its SHA-256. Secrets are
// 160 random bits, so the hash needs no key to be unguessable; it only
// needs to be collision-resistant. Without a cache it hashes nothing, and
// the key it returns is never used.
func (c *authCache) key(secret string) (k cacheKey) {
	if c != nil {
		k = sha256.Sum256(readOnlyBytes(secret))
	}
	return k
}

// get returns the entry cached for key (nil if none; it may be stale),
// when the key was last found to belong to no token (zero if it was
// not), and the cache version to pass to put after a storage lookup. The
// entry must not be modified.
func (c *authCache) get(key cacheKey) (e *cacheEntry, unknownSince time.Time, version uint64) {
	if c == nil {
		return nil, time.Time{}, 0
	}
	// The version is read first: an invalidation after it makes put
	// refuse what the caller reads from storage next.
	version = c.version.Load()
	if v, ok := c.entries.Load(key); ok {
		return v.(*cacheEntry), time.Time{}, version
	}
	if v, ok := c.unknown.Load(key); ok {
		return nil, v.(time.Time), version
	}
	return nil, time.Time{}, version
}

// putUnknown remembers, for the cache's TTL, that no token has the secret
// of key. Secrets are 160 random bits and a new token's key is forgotten
// here when this Service makes it (known), so a remembered key cannot
// belong to a token made meanwhile, unless another process made it in that
// window from a secret presented before it existed. When full, an
// arbitrary entry makes room.
func (c *authCache) putUnknown(key cacheKey, now time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.unknown.Load(key); !ok {
		if c.nUnknown >= c.max {
			c.unknown.Range(func(k, _ any) bool {
				c.unknown.Delete(k)
				c.nUnknown--
				return false
			})
		}
		c.nUnknown++
	}
	c.unknown.Store(key, now)
}

// known forgets that the secret of key belonged to no token.
func (c *authCache) known(key cacheKey) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.unknown.LoadAndDelete(key); ok {
		c.nUnknown--
	}
}

// fresh reports whether what was read at fetched may still be trusted at
// now.
func (c *authCache) fresh(fetched, now time.Time) bool {
	return now.Sub(fetched) < c.ttl && !now.Before(fetched)
}

// put caches t, the token of the secret of key, as read from storage at
// now and returns the token to use: t, or the snapshot already cached if a
// fresh one is there (it may record a newer use than t). It caches nothing
// if an invalidation happened since version was read: the token read may
// then be older than the revocation.
func (c *authCache) put(key cacheKey, t *Token, now, mono time.Time, version uint64) *Token {
	if c == nil {
		return t
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if version != c.version.Load() {
		return t
	}
	if v, ok := c.entries.Load(key); ok {
		e := v.(*cacheEntry)
		if c.fresh(e.fetched, now) && e.tok.ID == t.ID {
			return e.tok
		}
		c.remove(e.tok.ID)
	}
	c.remove(t.ID)
	if c.nEntries >= c.max {
		c.entries.Range(func(_, v any) bool {
			c.remove(v.(*cacheEntry).tok.ID)
			return false
		})
	}
	c.entries.Store(key, &cacheEntry{tok: t, fetched: now, mono: mono})
	c.byID[t.ID] = key
	c.nEntries++
	return t
}

// current returns the snapshot cached for t's token, or t if none is.
func (c *authCache) current(t *Token) *Token {
	if c == nil {
		return t
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.byTokenID(t.ID); e != nil {
		return e.tok
	}
	return t
}

// byTokenID returns the entry of the token with the given ID, or nil.
// c.mu must be held.
func (c *authCache) byTokenID(id int64) *cacheEntry {
	key, ok := c.byID[id]
	if !ok {
		return nil
	}
	v, ok := c.entries.Load(key)
	if !ok {
		return nil
	}
	return v.(*cacheEntry)
}

// replace caches next in place of old, keeping the entry's age, if old is
// still the snapshot cached: after an invalidation it is not, and next is
// dropped.
func (c *authCache) replace(old, next *Token) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.byTokenID(old.ID); e != nil && e.tok == old {
		c.entries.Store(c.byID[old.ID], &cacheEntry{tok: next, fetched: e.fetched, mono: e.mono})
	}
}

// remove drops the token with the given ID. c.mu must be held.
func (c *authCache) remove(id int64) {
	if key, ok := c.byID[id]; ok {
		c.entries.Delete(key)
		delete(c.byID, id)
		c.nEntries--
	}
}

// invalidate drops the token with the given ID.
func (c *authCache) invalidate(id int64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.version.Add(1)
	c.remove(id)
}

// purge drops everything.
func (c *authCache) purge() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.version.Add(1)
	c.entries.Clear()
	c.unknown.Clear()
	clear(c.byID)
	c.nEntries, c.nUnknown = 0, 0
}

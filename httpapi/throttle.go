package httpapi

import (
	"hash/maphash"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// FailedAuthLimit throttles failed authentication by client address
// (Options.ClientIP), as GitLab's Rack::Attack throttles do. A failure is a
// credential answered 401: unknown, malformed, expired, revoked, or an
// impersonation token while impersonation is disabled. Once an address has
// failed Limit times in a period, every request of it presenting a
// credential (or a form body, which may hold one) is answered, until the
// period ends and before any token is looked at, with GitLab's throttle
// answer: 429, Content-Type text/plain, the body "Retry later\n", and the
// headers Retry-After (seconds), RateLimit-Name
// (throttle_unauthenticated_api), RateLimit-Limit (per minute),
// RateLimit-Observed, RateLimit-Remaining, RateLimit-Reset (Unix time) and
// RateLimit-ResetTime (HTTP date).
//
// Each address is counted apart, so no client is ever throttled for
// another's failures, whatever their number. Memory is bounded: at most
// MaxClients addresses are remembered (about 75 bytes each, 1.2 MB at the
// default) and, when full, the one whose last failure is oldest is
// forgotten. A flood from more addresses than that (which takes a client
// able to choose its address; see Options.ClientIP) therefore only lets
// some of them fail more often. Concurrent requests of one address may
// each fail before the first failure is counted. Zero fields mean the
// defaults.
type FailedAuthLimit struct {
	// Limit is the number of failures an address may make per period.
	// Default 30.
	Limit int
	// Period is the length of the counting periods, which start at
	// multiples of it since the Unix epoch, as Rack::Attack's. Default 3
	// minutes.
	Period time.Duration
	// MaxClients bounds the addresses remembered. Default 16384.
	MaxClients int
}

// Defaults of FailedAuthLimit.
const (
	DefaultFailedAuthLimit      = 30
	DefaultFailedAuthPeriod     = 3 * time.Minute
	DefaultFailedAuthMaxClients = 16384
)

// maxThrottleShards is the number of independently locked parts of a
// throttle's table.
const maxThrottleShards = 16

// throttle counts failed authentications per client address in fixed
// periods, in a table of bounded size. Addresses are kept as 64-bit keyed
// hashes: the table holds no client-chosen string, and the random seed
// keeps anyone from choosing addresses that share an entry.
type throttle struct {
	limit  int
	period int64 // nanoseconds
	seed   maphash.Seed
	shards []throttleShard
}

// throttleShard is a fixed-capacity table of addresses in least recently
// failed order.
type throttleShard struct {
	mu    sync.Mutex
	max   int
	index map[uint64]int32 // key → slot
	slots []throttleSlot
	head  int32 // most recently failed slot, -1 when empty
	tail  int32 // least recently failed slot
}

type throttleSlot struct {
	key        uint64
	window     int64 // the period counted in, as now / period
	failures   int32
	prev, next int32
}

func newThrottle(o *FailedAuthLimit) *throttle {
	if o == nil {
		return nil
	}
	limit, period, clients := o.Limit, o.Period, o.MaxClients
	if limit <= 0 {
		limit = DefaultFailedAuthLimit
	}
	if period <= 0 {
		period = DefaultFailedAuthPeriod
	}
	if clients <= 0 {
		clients = DefaultFailedAuthMaxClients
	}
	n := min(maxThrottleShards, clients)
	t := &throttle{limit: min(limit, math.MaxInt32), period: int64(period), seed: maphash.MakeSeed(), shards: make([]throttleShard, n)}
	for i := range t.shards {
		t.shards[i] = throttleShard{max: clients / n, head: -1, tail: -1}
	}
	return t
}

// throttledError is a request refused because its client address failed
// to authenticate too often.
type throttledError struct {
	limit, observed int
	period          time.Duration
	retryAfter      int64 // seconds
	reset           time.Time
}

func (e *throttledError) Error() string { return "httpapi: too many failed authentications" }

// check returns a *throttledError if addr has failed limit times in the
// period of now.
func (t *throttle) check(addr string, now time.Time) error {
	key := maphash.String(t.seed, addr)
	s := &t.shards[key%uint64(len(t.shards))]
	window := now.UnixNano() / t.period
	s.mu.Lock()
	failures := 0
	if i, ok := s.index[key]; ok && s.slots[i].window == window {
		failures = int(s.slots[i].failures)
	}
	s.mu.Unlock()
	if failures < t.limit {
		return nil
	}
	end := (window + 1) * t.period
	return &throttledError{
		limit:      t.limit,
		observed:   failures,
		period:     time.Duration(t.period),
		retryAfter: max(1, (end-now.UnixNano()+int64(time.Second)-1)/int64(time.Second)),
		reset:      time.Unix(0, end).UTC(),
	}
}

// fail counts a failed authentication of addr at now.
func (t *throttle) fail(addr string, now time.Time) {
	key := maphash.String(t.seed, addr)
	s := &t.shards[key%uint64(len(t.shards))]
	window := now.UnixNano() / t.period
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index[key]
	switch {
	case ok:
		s.unlink(i)
	case len(s.slots) < s.max:
		if s.index == nil {
			s.index = make(map[uint64]int32)
		}
		s.slots = append(s.slots, throttleSlot{})
		i = int32(len(s.slots) - 1)
		s.index[key] = i
		s.slots[i] = throttleSlot{key: key, window: window}
	default: // full: forget the address whose last failure is oldest
		i = s.tail
		s.unlink(i)
		delete(s.index, s.slots[i].key)
		s.index[key] = i
		s.slots[i] = throttleSlot{key: key, window: window}
	}
	sl := &s.slots[i]
	if sl.window != window {
		sl.window, sl.failures = window, 0
	}
	if sl.failures < math.MaxInt32 {
		sl.failures++
	}
	s.pushFront(i)
}

func (s *throttleShard) unlink(i int32) {
	sl := &s.slots[i]
	if sl.prev >= 0 {
		s.slots[sl.prev].next = sl.next
	} else {
		s.head = sl.next
	}
	if sl.next >= 0 {
		s.slots[sl.next].prev = sl.prev
	} else {
		s.tail = sl.prev
	}
}

func (s *throttleShard) pushFront(i int32) {
	sl := &s.slots[i]
	sl.prev, sl.next = -1, s.head
	if s.head >= 0 {
		s.slots[s.head].prev = i
	} else {
		s.tail = i
	}
	s.head = i
}

// len returns the number of addresses remembered.
func (t *throttle) len() int {
	if t == nil {
		return 0
	}
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n += len(s.index)
		s.mu.Unlock()
	}
	return n
}

// writeThrottled answers GitLab's Rack::Attack throttle response.
func writeThrottled(w http.ResponseWriter, e *throttledError) {
	h := w.Header()
	h.Set("Content-Type", "text/plain")
	h.Set("Retry-After", strconv.FormatInt(e.retryAfter, 10))
	h.Set("RateLimit-Name", "throttle_unauthenticated_api")
	perMinute := int(math.Ceil(float64(e.limit) * float64(time.Minute) / float64(e.period)))
	h.Set("RateLimit-Limit", strconv.Itoa(perMinute))
	h.Set("RateLimit-Observed", strconv.Itoa(e.observed))
	h.Set("RateLimit-Remaining", strconv.Itoa(max(0, e.limit-e.observed)))
	h.Set("RateLimit-Reset", strconv.FormatInt(e.reset.Unix(), 10))
	h.Set("RateLimit-ResetTime", e.reset.Format(http.TimeFormat))
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write([]byte("Retry later\n"))
}

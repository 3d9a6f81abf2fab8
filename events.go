package patkit

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// EventType names what happened to a token.
type EventType string

// The events a Service emits (see Options.OnEvent).
const (
	// EventCreated: a token was created (personal, impersonation,
	// project or group). Event.Token is the new token.
	EventCreated EventType = "token_created"
	// EventRotated: a token was rotated. Event.Token is the new token;
	// its PreviousID names the token the rotation revoked, for which no
	// EventRevoked is emitted.
	EventRotated EventType = "token_rotated"
	// EventRevoked: a token was revoked, for Event.Reason.
	EventRevoked EventType = "token_revoked"
	// EventReuseDetected: a revoked token was presented on a rotation
	// request (someone reuses a token that rotation replaced) and its
	// active descendants were revoked, each with its own EventRevoked
	// (ReasonReuseDetected). Event.Token is the presented token.
	EventReuseDetected EventType = "token_reuse_detected"
	// EventNewAddress: a token was used from a client address that is
	// not among the addresses it was last used from (Token.LastUsedIPs,
	// the five newest), and the Service recorded it. Event.Token is the
	// token with the address recorded.
	EventNewAddress EventType = "token_new_address"
	// EventAddressRefused: a token bound to networks
	// (Token.AllowedCIDRs) was presented from an address outside them,
	// or from one the host could not tell, and refused. Event.Actor.IP
	// is that address; Event.Token is the token. Every refusal is one.
	EventAddressRefused EventType = "token_address_refused"
	// EventExpiringSoon: a token expires within 60, 30 or 7 days
	// (Event.Notice). See Service.SendExpiryNotices.
	EventExpiringSoon EventType = "token_expiring_soon"
	// EventExpired: a token has expired (Event.Notice is NoticeExpired).
	// See Service.SendExpiryNotices.
	EventExpired EventType = "token_expired"
)

// RevocationReason tells why a token was revoked (Event.Reason).
type RevocationReason string

// The reasons of EventRevoked.
const (
	// ReasonOwner: the token's own user revoked it (for a project or
	// group token, its bot user, with the token itself).
	ReasonOwner RevocationReason = "owner"
	// ReasonAdministrator: an administrator revoked another user's token.
	ReasonAdministrator RevocationReason = "administrator"
	// ReasonResourceManager: a Maintainer of the project (Owner of the
	// group) revoked one of its access tokens.
	ReasonResourceManager RevocationReason = "resource_manager"
	// ReasonReuseDetected: the token descends through rotation from a
	// revoked token presented on a rotation request (EventReuseDetected).
	ReasonReuseDetected RevocationReason = "reuse_detected"
	// ReasonAdminTokenAPI: an administrator revoked it by its secret, with
	// the token information API (Service.RevokeTokenBySecret).
	ReasonAdminTokenAPI RevocationReason = "admin_token_api"
)

// Event is something that happened to a token, emitted once the change
// is stored (never for a change that failed or rolled back) to the
// handler of Options.OnEvent.
type Event struct {
	// ID is unique and time-ordered: a UUIDv7 (RFC 9562) in its canonical
	// text form. IDs increase in the order a Service delivers its events.
	ID string
	// Type is what happened.
	Type EventType
	// Time is when the Service emitted the event (Options.Now), in UTC.
	Time time.Time
	// Actor is who caused it; the zero Actor for the Service's own
	// expiry notices.
	Actor Actor
	// Token is the token the event is about, as stored once the change
	// was made, without its digest (Digest is nil): a copy the handler
	// may keep. It never holds a secret.
	Token *Token
	// Reason is why the token was revoked, for EventRevoked only.
	Reason RevocationReason
	// Notice is the threshold of EventExpiringSoon and EventExpired.
	Notice Notice
}

// Actor is who caused an event.
type Actor struct {
	// UserID and Username are the acting user (with Sudo, the user acted
	// as); 0 and "" when no user acted (the presenter of a revoked token
	// on a rotation request, or the Service itself).
	UserID   int64
	Username string
	// SudoerID is the administrator who acted as UserID with Sudo, or 0.
	SudoerID int64
	// TokenID is the token the actor presented, or 0 when the host
	// authenticated the user another way (Service.Principal).
	TokenID int64
	// IP is the client address of the request (AuthRequest.RemoteIP), or
	// "" when unknown.
	IP string
}

// actorOf returns the actor of a request made by p.
func actorOf(p *Principal) Actor {
	var a Actor
	if p == nil {
		return a
	}
	if p.user != nil {
		a.UserID, a.Username = p.user.ID, p.user.Username
	}
	if p.sudoer != nil {
		a.SudoerID = p.sudoer.ID
	}
	if p.token != nil {
		a.TokenID = p.token.ID
	}
	a.IP = p.ip
	return a
}

// defaultEventBuffer is the default of Options.EventBuffer.
const defaultEventBuffer = 1024

// EventStats counts what happened to the events a Service emitted (see
// Service.EventStats).
type EventStats struct {
	// Queued counts the events accepted into the buffer.
	Queued uint64
	// Delivered counts the events the handler returned from, or panicked
	// in.
	Delivered uint64
	// Dropped counts the events lost: emitted while the buffer was full,
	// or expiry notices claimed by a SendExpiryNotices whose context ended
	// before they could be queued.
	Dropped uint64
	// Panics counts the handler's calls that panicked (included in
	// Delivered).
	Panics uint64
}

// events is the delivery of a Service's events: a bounded FIFO, drained
// in order by at most one goroutine, which runs only while the buffer
// holds events. A nil *events (no handler) emits nothing.
type events struct {
	handler func(Event)
	now     func() time.Time

	mu       sync.Mutex
	ring     []Event // allocated at the first event; len is the capacity
	size     int
	head, n  int
	running  bool          // a delivery goroutine is draining ring
	progress chan struct{} // closed at the next change, for waiters; nil when none waits
	ids      uuidGen
	stats    EventStats // Panics is counted apart
	panics   atomic.Uint64
}

func newEvents(handler func(Event), size int, now func() time.Time) *events {
	if handler == nil {
		return nil
	}
	if size <= 0 {
		size = defaultEventBuffer
	}
	return &events{handler: handler, now: now, size: size}
}

// wake tells the waiters that something changed. The caller holds q.mu.
func (q *events) wake() {
	if q.progress != nil {
		close(q.progress)
		q.progress = nil
	}
}

// changed returns a channel closed at the next change. The caller holds
// q.mu.
func (q *events) changed() <-chan struct{} {
	if q.progress == nil {
		q.progress = make(chan struct{})
	}
	return q.progress
}

// push queues e, giving it its ID and time. With wait false a full buffer
// drops e; with wait true push waits for room until ctx ends, and then
// drops e. It reports whether e was queued.
func (q *events) push(ctx context.Context, e Event, wait bool) bool {
	q.mu.Lock()
	for q.n == q.size {
		if !wait || ctx.Err() != nil {
			q.stats.Dropped++
			q.mu.Unlock()
			return false
		}
		ch := q.changed()
		q.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		}
		q.mu.Lock()
	}
	if q.ring == nil {
		q.ring = make([]Event, q.size)
	}
	e.Time = q.now()
	e.ID = q.ids.next(e.Time)
	q.ring[(q.head+q.n)%q.size] = e
	q.n++
	q.stats.Queued++
	if !q.running {
		q.running = true
		go q.run()
	}
	q.mu.Unlock()
	return true
}

// run delivers the queued events in order, and returns once the buffer is
// empty.
func (q *events) run() {
	for {
		q.mu.Lock()
		if q.n == 0 {
			q.running = false
			q.wake()
			q.mu.Unlock()
			return
		}
		e := q.ring[q.head]
		q.ring[q.head] = Event{}
		q.head = (q.head + 1) % q.size
		q.n--
		q.wake() // room for a waiting push
		q.mu.Unlock()

		q.deliver(e)

		q.mu.Lock()
		q.stats.Delivered++
		q.wake()
		q.mu.Unlock()
	}
}

// deliver calls the handler, recovering a panic.
func (q *events) deliver(e Event) {
	defer func() {
		if recover() != nil {
			q.panics.Add(1)
		}
	}()
	q.handler(e)
}

// flush waits until every event queued before the call is delivered.
func (q *events) flush(ctx context.Context) error {
	q.mu.Lock()
	target := q.stats.Queued
	for q.stats.Delivered < target {
		ch := q.changed()
		q.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		q.mu.Lock()
	}
	q.mu.Unlock()
	return nil
}

// emit queues an event of type typ about tok, made by actor, unless the
// buffer is full. tok is copied without its digest.
func (q *events) emit(typ EventType, actor Actor, tok *Token, reason RevocationReason) {
	q.push(context.Background(), Event{Type: typ, Actor: actor, Token: eventToken(tok), Reason: reason}, false)
}

// eventToken returns the copy of t an event carries: deep, without the
// digest.
func eventToken(t *Token) *Token {
	c := *t
	c.Scopes = slices.Clone(t.Scopes)
	c.LastUsedIPs = slices.Clone(t.LastUsedIPs)
	c.AllowedCIDRs = slices.Clone(t.AllowedCIDRs)
	c.Digest = nil
	return &c
}

// Flush waits until every event emitted before the call has been
// delivered to Options.OnEvent (the handler returned or panicked), or ctx
// ends. Call it before the process exits, after the last request, so
// that no event is lost in the buffer; a handler that blocks makes Flush
// wait until ctx ends. Without a handler it returns nil at once. There is
// nothing to close: the delivery goroutine runs only while events wait.
func (s *Service) Flush(ctx context.Context) error {
	if s.events == nil {
		return nil
	}
	return s.events.flush(ctx)
}

// EventStats returns the counts of the events s emitted: queued,
// delivered, dropped because the buffer was full, and handler panics.
// Without a handler every count is 0.
func (s *Service) EventStats() EventStats {
	q := s.events
	if q == nil {
		return EventStats{}
	}
	q.mu.Lock()
	st := q.stats
	q.mu.Unlock()
	st.Panics = q.panics.Load()
	return st
}

// uuidGen makes UUIDv7s (RFC 9562): 48 bits of Unix milliseconds, the
// version, 12 bits of counter (RFC 9562 method 1: seeded at random with
// its top bit clear at each new millisecond, incremented within one, the
// timestamp moved on a millisecond when it overflows), the variant, and 62
// random bits. IDs strictly increase in the order they are made, even if
// the clock stands still or steps back. The caller serializes calls.
type uuidGen struct {
	ms  int64
	seq uint16
	rng *rand.ChaCha8
}

func (g *uuidGen) next(t time.Time) string {
	if g.rng == nil {
		var seed [32]byte
		crand.Read(seed[:]) // never fails (crypto/rand.Read panics rather)
		g.rng = rand.NewChaCha8(seed)
	}
	ms := t.UnixMilli()
	switch {
	case ms > g.ms:
		g.ms, g.seq = ms, uint16(g.rng.Uint64()&0x7ff)
	case g.seq < 0xfff:
		g.seq++
	default:
		g.ms, g.seq = g.ms+1, 0
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[8:], g.rng.Uint64())
	binary.BigEndian.PutUint64(b[0:], uint64(g.ms)<<16)
	binary.BigEndian.PutUint16(b[6:], 0x7000|g.seq)
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}

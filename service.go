package patkit

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Service. A nil *Options means the defaults, which are
// GitLab's instance defaults.
type Options struct {
	// Prefix starts every new secret. Default DefaultPrefix ("glpat-").
	Prefix string

	// AllowNoExpiry lets tokens be created without an expiry date
	// (GitLab's require_personal_access_token_expiry = false). By default
	// expiry is required and MaxLifetimeDays is enforced.
	AllowNoExpiry bool
	// MaxLifetimeDays bounds expires_at to today + N days when expiry is
	// required (equality accepted). Default 365; at most MaxDays.
	MaxLifetimeDays int
	// RotationDays is the lifetime of a rotated token when the caller names
	// no expiry and expiry is required: today + N days, capped by
	// MaxLifetimeDays. Default 7; at most MaxDays.
	RotationDays int

	// ImpersonationDisabled makes impersonation tokens fail authentication
	// (GitLab's impersonation_enabled = false).
	ImpersonationDisabled bool
	// AdminMode makes administrators act as administrators only when their
	// token holds the admin_mode scope.
	AdminMode bool

	// LastUsedInterval is how stale last_used_at may get before a use
	// writes it again. Default 10 minutes.
	LastUsedInterval time.Duration
	// LastUsedIPInterval is how long after the last recorded use a new
	// client address is recorded. Default 1 minute.
	LastUsedIPInterval time.Duration

	// CacheSize bounds the authentication cache, in tokens. Default 10,000;
	// negative disables the cache.
	CacheSize int
	// CacheTTL is how long a cached token is trusted without reading the
	// Store. Revocations through this Service take effect at once; those
	// made by another process on the same storage take effect within
	// CacheTTL, or at once while Service.Watch runs on a Store that is a
	// Watcher. Expiry is checked on every request. Default 10 seconds;
	// negative disables the cache.
	CacheTTL time.Duration

	// RotationGrace, when positive, lets the token a rotation replaced
	// (the predecessor) keep authenticating for that long after the
	// rotation, so that clients sharing one token that rotate it at once
	// are not locked out: of several concurrent rotations one wins, and
	// the others, presenting the predecessor again, are not taken for a
	// thief. Zero, the default, is GitLab's behaviour: a rotated token
	// fails at once, and presenting it on a rotation path revokes its
	// rotation family (reuse detection).
	//
	// With a grace window these invariants hold (each is tested):
	//
	//   - Within the window (now before the predecessor's RevokedAt +
	//     RotationGrace, RevokedAt being the rotation's time by Now), the
	//     predecessor authenticates for every request but a rotation, and
	//     its uses are recorded on it (last_used_at, last_used_ips).
	//   - Within the window, a rotation attempted with the predecessor
	//     (presented on a rotation path, AuthRequest.Rotate, or named by
	//     ID in a rotation) is refused with ErrBadRequest ("Token already
	//     rotated: use the token that replaced it"; httpapi answers 400
	//     {"message":"400 Bad request - Token already rotated: ..."}) and
	//     revokes nothing.
	//   - After the window the predecessor fails as revoked
	//     (ErrTokenRevoked), and presenting it on a rotation path revokes
	//     its family, as without a window.
	//   - Only a token revoked by its rotation (Token.Rotated) has a
	//     window: one revoked by its owner, an administrator, the admin
	//     token API or reuse detection never authenticates again, inside
	//     a window or not, and revoking a predecessor in its window ends
	//     the window at once.
	//   - Revoking the successor (or any token descending from the
	//     predecessor), or the family by reuse detection, ends the
	//     predecessor's window at once.
	//   - A token in its window is never served from the authentication
	//     cache: every request reads the Store, so that a revocation
	//     ending the window applies at once, through any Service on the
	//     same storage.
	//
	// The window is per token: after two rotations within one window the
	// first two tokens both authenticate until their own windows end.
	// Keep it short (seconds to minutes): it is how long a leaked,
	// rotated-out secret stays usable.
	RotationGrace time.Duration

	// PreviousKeys are instance keys tokens may still be digested with,
	// while the key is rotated: a token found under one of them is
	// re-digested under the current key on its next use (on a KeyStore),
	// and VerifyKey accepts a Store that remembers one of them. Each
	// costs an extra lookup for every unknown token; drop a previous key
	// once the tokens digested with it have been used or have expired.
	PreviousKeys [][]byte

	// OnEvent, when set, receives an Event for every change to a token
	// (created, rotated, revoked), every reuse of a rotated token, every
	// use from a new client address and every expiry notice
	// (SendExpiryNotices), after the change is stored: never for a change
	// that failed. It is called from a goroutine of the Service, one event
	// at a time, in the order of the events' IDs; a panic in it is
	// recovered and counted (EventStats), and delivery goes on.
	//
	// Emitting never blocks nor fails the request that caused the event:
	// events wait in a buffer of EventBuffer events, and an event emitted
	// while the buffer is full is dropped and counted (EventStats). A
	// handler that is slow (a network call, a disk that may stall) should
	// hand the event to a queue of its own and return, as examples/server
	// does with webhooks; Flush waits for what is buffered. Without
	// OnEvent no goroutine is started and emitting costs a nil check.
	OnEvent func(Event)
	// EventBuffer is how many events may wait for OnEvent. Default 1024.
	EventBuffer int

	// Now returns the current time. Default time.Now.
	Now func() time.Time
	// Rand is the source of secrets. Default crypto/rand.Reader.
	Rand io.Reader
}

// Service applies GitLab's token rules on top of a Store and a Directory.
// It is safe for concurrent use.
type Service struct {
	store Store
	dir   Directory
	key   []byte
	opts  Options

	realClock   bool        // Options.Now is time.Now: elapsed time can be read from the monotonic clock alone
	keyVerified atomic.Bool // VerifyKey succeeded
	uses        useLog      // this process's last-used writes
	cache       *authCache
	macs        sync.Pool // of *mac: HMAC-SHA-256 keyed with key, reused
	events      *events   // nil without Options.OnEvent
}

// MinKeyLen is the minimum length of the instance key given to New.
const MinKeyLen = 32

// New returns a Service storing tokens in store and asking dir about users
// and resources. key is the instance secret that keys the digest of every
// token (HMAC-SHA-256); it must be at least MinKeyLen bytes and stay the
// same for the life of the store, or be rotated with Options.PreviousKeys:
// tokens digested under another key do not authenticate, and on a
// KeyStore the Service refuses a key the store does not know (see
// VerifyKey). New does no I/O.
func New(store Store, dir Directory, key []byte, opts *Options) (*Service, error) {
	if store == nil || dir == nil {
		return nil, errors.New("patkit: New needs a Store and a Directory")
	}
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("patkit: key is %d bytes, need at least %d", len(key), MinKeyLen)
	}
	s := &Service{store: store, dir: dir, key: slices.Clone(key)}
	if opts != nil {
		s.opts = *opts
	}
	for i, k := range s.opts.PreviousKeys {
		if len(k) < MinKeyLen {
			return nil, fmt.Errorf("patkit: previous key %d is %d bytes, need at least %d", i, len(k), MinKeyLen)
		}
	}
	o := &s.opts
	if o.MaxLifetimeDays > MaxDays || o.RotationDays > MaxDays {
		return nil, fmt.Errorf("patkit: MaxLifetimeDays and RotationDays are at most %d", MaxDays)
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.MaxLifetimeDays <= 0 {
		o.MaxLifetimeDays = 365
	}
	if o.RotationDays <= 0 {
		o.RotationDays = 7
	}
	if o.LastUsedInterval <= 0 {
		o.LastUsedInterval = 10 * time.Minute
	}
	if o.LastUsedIPInterval <= 0 {
		o.LastUsedIPInterval = time.Minute
	}
	if o.CacheSize == 0 {
		o.CacheSize = 10_000
	}
	if o.CacheTTL == 0 {
		o.CacheTTL = 10 * time.Second
	}
	s.cache = newAuthCache(o.CacheSize, o.CacheTTL)
	if o.Now == nil {
		o.Now = time.Now
		s.realClock = true
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	s.events = newEvents(o.OnEvent, o.EventBuffer, s.now)
	return s, nil
}

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

// clock returns the current time, as now does, and a reading that
// nowSince can later measure the time elapsed from: time.Now's own, with
// its monotonic clock, or the zero Time under a custom Options.Now.
func (s *Service) clock() (now, mono time.Time) {
	if !s.realClock {
		return s.now(), time.Time{}
	}
	mono = time.Now()
	return mono.UTC(), mono
}

// nowSince returns the current time from a time now and its reading mono
// that clock returned earlier: now plus the time elapsed since, read from
// the monotonic clock alone. That is one clock read where time.Now makes
// two (wall and monotonic), which matters on the path of every cached
// authentication: on virtual machines a read can cost more than the
// SHA-256 of the secret. It differs from the wall clock only if the wall
// clock was stepped since mono was read, a cache lifetime ago at most.
func (s *Service) nowSince(now, mono time.Time) time.Time {
	if mono.IsZero() {
		return s.now()
	}
	return now.Add(time.Since(mono))
}

// Prefix returns the prefix of the secrets s makes (Options.Prefix), for
// code that must recognise a secret, such as a log redactor.
func (s *Service) Prefix() string { return s.opts.Prefix }

// Now returns the Service's current time (Options.Now, in UTC): the
// instant token states are computed at.
func (s *Service) Now() time.Time { return s.now() }

// ExpiryLimit returns the latest expiry date a new token may be given
// today (today + MaxLifetimeDays, midnight UTC), which is also the expiry
// of a personal, project or group access token created without one; the
// zero Time when expiry is not required (Options.AllowNoExpiry), as there
// is then neither a bound nor a default.
func (s *Service) ExpiryLimit() time.Time {
	if s.opts.AllowNoExpiry {
		return time.Time{}
	}
	return Date(s.now()).AddDate(0, 0, s.opts.MaxLifetimeDays)
}

// MaxDays bounds Options.MaxLifetimeDays and Options.RotationDays: some
// 2,700 years, so that a default expiry stays a date of four-digit year
// for millennia.
const MaxDays = 1_000_000

// TokenOptions are the attributes of a new token.
type TokenOptions struct {
	Name        string
	Description string
	Scopes      []Scope
	// ExpiresAt is the expiry date (any time of day is truncated to the
	// date in UTC). The zero Time asks for the endpoint's default. A date
	// is YYYY-MM-DD, from 0000-01-01 to 9999-12-31, as GitLab's API writes
	// it; one outside, or any other time on 0001-01-01, the zero Time's
	// date (a Token whose ExpiresAt is zero never expires), is ErrInvalid.
	ExpiresAt time.Time
	// AccessLevel is the level of a project or group access token's bot;
	// zero means Maintainer. Ignored for other tokens.
	AccessLevel AccessLevel
	// AllowedCIDRs, when not empty, bind the token to networks: it
	// authenticates only from a client address (AuthRequest.RemoteIP)
	// inside one of them, and fails with ErrAddressNotAllowed otherwise
	// (also without an address). Empty means from anywhere. At most
	// MaxAllowedCIDRs; each must be valid (ErrInvalid, field
	// allowed_cidrs). The token keeps them normalized (see
	// NormalizeCIDRs), and its rotations keep them.
	AllowedCIDRs []netip.Prefix
}

// Page is one page of a token list.
type Page struct {
	Tokens []*Token
	// Total is the number of matching tokens, or -1 when more than MaxCount
	// match and GitLab would not count them.
	Total   int
	Page    int
	PerPage int
}

// TotalPages returns the number of pages, at least 1, or -1 if the total
// is unknown.
func (p *Page) TotalPages() int {
	if p.Total < 0 {
		return -1
	}
	return max(1, (p.Total+p.PerPage-1)/p.PerPage)
}

// HasNext reports whether a page follows this one.
func (p *Page) HasNext() bool {
	if p.Total < 0 {
		return len(p.Tokens) == p.PerPage
	}
	return p.Page < p.TotalPages()
}

// mac is a reusable HMAC-SHA-256 state keyed with the instance key, with
// scratch space, so that digesting a secret allocates nothing: keying a
// state costs two SHA-256 blocks and four allocations.
type mac struct {
	h   hash.Hash
	sum []byte // capacity sha256.Size
}

// digestInto writes HMAC-SHA-256(s.key, secret) into d.
func (s *Service) digestInto(d *[sha256.Size]byte, secret string) {
	m, _ := s.macs.Get().(*mac)
	if m == nil {
		m = &mac{h: hmac.New(sha256.New, s.key), sum: make([]byte, 0, sha256.Size)}
	}
	m.h.Reset()
	m.h.Write(readOnlyBytes(secret)) // a hash.Hash only reads what it is given
	copy(d[:], m.h.Sum(m.sum[:0]))
	s.macs.Put(m)
}

// digest returns HMAC-SHA-256(s.key, secret) in a new slice.
func (s *Service) digest(secret string) []byte {
	d := new([sha256.Size]byte)
	s.digestInto(d, secret)
	return d[:]
}

// seal gives t a new secret and its digest, and returns the secret. It
// verifies the key first: a token digested under a wrong key would never
// authenticate.
func (s *Service) seal(ctx context.Context, t *Token) (string, error) {
	if err := s.VerifyKey(ctx); err != nil {
		return "", err
	}
	secret, err := newSecret(s.opts.Prefix, s.opts.Rand)
	if err != nil {
		return "", fmt.Errorf("patkit: generate secret: %w", err)
	}
	t.Digest = s.digest(secret)
	key := s.cache.key(secret)
	s.cache.known(key)
	return secret, nil
}

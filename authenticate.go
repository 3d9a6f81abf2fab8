package patkit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"
)

// AuthRequest describes the request a secret was presented with.
type AuthRequest struct {
	// RemoteIP is the client address recorded in last_used_ips; empty
	// records none. A token bound to networks (Token.AllowedCIDRs)
	// authenticates only when it is an IP address inside one of them
	// (a zone is ignored, an IPv4-mapped IPv6 address counts as the IPv4
	// address); behind a proxy, the host must set it to the address the
	// proxy forwards (see httpapi.Options.ClientIP).
	RemoteIP string
	// Rotate marks a rotation request (a path ending in
	// access_tokens/<id>/rotate or access_tokens/self/rotate). A revoked
	// token presented on one revokes all its active descendants: someone
	// is reusing a token that rotation replaced.
	Rotate bool
	// Scopes, when not nil, are the scopes the endpoint allows (see
	// AllowedScopes): a token holding none of them fails with
	// ErrInsufficientScope. They are checked where GitLab checks them:
	// after expiry, revocation and impersonation, before the user's state,
	// and before the use is recorded.
	Scopes []Scope
}

// Authenticate resolves a secret to a Principal. It fails with
// ErrUnauthorized for a malformed or unknown secret (a malformed one costs
// no storage access), ErrTokenExpired, ErrTokenRevoked,
// ErrImpersonationDisabled, ErrAddressNotAllowed for a token bound to
// networks (Token.AllowedCIDRs) that req.RemoteIP is outside of,
// ErrInsufficientScope when req.Scopes is set and not met, or ErrForbidden
// for a blocked user.
//
// A token that rotation replaced authenticates within
// Options.RotationGrace, except on a rotation request (req.Rotate), which
// it fails with ErrBadRequest and revokes nothing.
//
// On success it records the use as GitLab does: last_used_at at most once
// per LastUsedInterval, a new client address at most once per
// LastUsedIPInterval, the five newest addresses kept. A write already in
// progress for the token in this process is not waited for, and a failed
// write does not fail authentication.
func (s *Service) Authenticate(ctx context.Context, secret string, req AuthRequest) (*Principal, error) {
	if !wellFormed(s.opts.Prefix, secret) {
		return nil, errUnknownToken
	}
	key := s.cache.key(secret)
	e, unknownSince, version := s.cache.get(key)
	var tok *Token
	var now time.Time
	if e != nil {
		if now = s.nowSince(e.fetched, e.mono); s.cache.fresh(e.fetched, now) {
			tok = e.tok
		}
	}
	if tok == nil {
		var mono time.Time
		now, mono = s.clock()
		if !unknownSince.IsZero() && s.cache.fresh(unknownSince, now) {
			return nil, errUnknownToken
		}
		var err error
		tok, err = s.lookup(ctx, secret)
		if errors.Is(err, ErrNotFound) {
			s.cache.putUnknown(key, now)
			return nil, errUnknownToken
		}
		if err != nil {
			return nil, fmt.Errorf("patkit: authenticate: %w", err)
		}
		if !s.inGrace(tok, now) {
			// A token in its grace window is read from the Store on
			// every request: a revocation ending the window, anywhere,
			// applies at once.
			tok = s.cache.put(key, tok, now, mono, version)
		}
	}
	switch {
	case tok.Expired(now):
		return nil, newError(ErrTokenExpired, "")
	case tok.Revoked && !s.inGrace(tok, now):
		if req.Rotate {
			actor := Actor{TokenID: tok.ID, IP: req.RemoteIP}
			if err := s.revokeDescendants(ctx, tok.ID, now, actor); err != nil {
				return nil, err
			}
			if s.events != nil {
				s.events.emit(EventReuseDetected, actor, tok, "")
			}
		}
		return nil, newError(ErrTokenRevoked, "")
	case tok.Revoked && req.Rotate: // in its grace window
		return nil, errAlreadyRotated
	case tok.Impersonation && s.opts.ImpersonationDisabled:
		return nil, newError(ErrImpersonationDisabled, "")
	case len(tok.AllowedCIDRs) > 0 && !addressAllowed(tok.AllowedCIDRs, req.RemoteIP):
		if s.events != nil {
			s.events.emit(EventAddressRefused, Actor{UserID: tok.UserID, TokenID: tok.ID, IP: req.RemoteIP}, tok, "")
		}
		return nil, errAddressNotAllowed
	}
	if req.Scopes != nil {
		if err := CheckScopes(tok.Scopes, req.Scopes); err != nil {
			return nil, err
		}
	}
	user, err := s.owner(ctx, tok)
	if errors.Is(err, ErrNotFound) {
		return nil, newError(ErrUnauthorized, "")
	}
	if err != nil {
		return nil, fmt.Errorf("patkit: authenticate: %w", err)
	}
	if user.Blocked {
		return nil, errBlocked()
	}
	tok = s.recordUse(ctx, user, tok, req.RemoteIP, now)
	return s.principal(e, user, tok, req.RemoteIP), nil
}

// principal returns the Principal of user authenticated with tok from ip.
// When tok is the snapshot of the cache entry e, it is the Principal last
// made from e if that has the same user (by value: a Directory may return
// a new *User each time), address and admin status: Principals are
// immutable, so one client's repeated requests share one and allocate
// nothing.
func (s *Service) principal(e *cacheEntry, user *User, tok *Token, ip string) *Principal {
	admin := s.actsAsAdmin(user, tok, false)
	if e == nil || e.tok != tok {
		return &Principal{user: user, token: tok, admin: admin, ip: ip}
	}
	if p := e.principal.Load(); p != nil && p.admin == admin && p.ip == ip && (p.user == user || *p.user == *user) {
		return p
	}
	p := &Principal{user: user, token: tok, admin: admin, ip: ip}
	e.principal.Store(p)
	return p
}

// lookup reads the token of a well-formed secret from the Store, under
// the instance key or else the previous keys.
func (s *Service) lookup(ctx context.Context, secret string) (*Token, error) {
	if err := s.VerifyKey(ctx); err != nil {
		return nil, err
	}
	d := s.digest(secret)
	tok, err := s.store.GetByDigest(ctx, d)
	if errors.Is(err, ErrNotFound) && len(s.opts.PreviousKeys) > 0 {
		tok, err = s.byPreviousKey(ctx, secret, d)
	}
	return tok, err
}

func errBlocked() *Error { return newError(ErrForbidden, "Your account has been blocked.") }

// errUnknownToken is Authenticate's answer to a secret that is malformed or
// unknown: one shared value, so that rejecting costs no allocation. Like
// every *Error the Service returns, it must not be modified.
var errUnknownToken = &Error{Code: ErrUnauthorized}

// errAddressNotAllowed and errAlreadyRotated are shared answers, as
// errUnknownToken.
var (
	errAddressNotAllowed = &Error{Code: ErrAddressNotAllowed}
	errAlreadyRotated    = &Error{Code: ErrBadRequest, Message: msgAlreadyRotated}
)

// msgAlreadyRotated refuses a rotation of a token in its grace window.
const msgAlreadyRotated = "Token already rotated: use the token that replaced it"

// inGrace reports whether tok was replaced by its rotation less than
// Options.RotationGrace before now, and may still authenticate.
func (s *Service) inGrace(tok *Token, now time.Time) bool {
	return s.opts.RotationGrace > 0 && tok.Revoked && tok.Rotated && !tok.RevokedAt.IsZero() &&
		now.Before(tok.RevokedAt.Add(s.opts.RotationGrace))
}

// Principal returns the Principal of a user the host authenticated by
// other means, such as a session cookie: no token, so "self" endpoints
// refuse it. adminMode reports whether that session has entered admin
// mode; it matters only when Options.AdminMode is set, and otherwise an
// administrator always acts as one. An unknown user is ErrUnauthorized, a
// blocked one ErrForbidden, as Authenticate answers.
//
// This is the only way to make a Principal without a secret: one built by
// hand is anonymous and allowed nothing.
func (s *Service) Principal(ctx context.Context, userID int64, adminMode bool) (*Principal, error) {
	u, err := s.userByID(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return nil, newError(ErrUnauthorized, "")
	}
	if err != nil {
		return nil, fmt.Errorf("patkit: principal: %w", err)
	}
	if u.Blocked {
		return nil, errBlocked()
	}
	return &Principal{user: u, admin: s.actsAsAdmin(u, nil, adminMode)}, nil
}

// actsAsAdmin applies admin mode: with it on, an administrator acts as one
// only with a token holding admin_mode, or a session in admin mode.
func (s *Service) actsAsAdmin(u *User, t *Token, sessionAdminMode bool) bool {
	if !u.Admin || !s.opts.AdminMode {
		return u.Admin
	}
	if t != nil {
		return slices.Contains(t.Scopes, ScopeAdminMode)
	}
	return sessionAdminMode
}

// recordUse records a use of tok in the store, if GitLab's throttles call
// for a write, and returns the token with its last use: tok itself, or a
// new snapshot that replaces tok in the cache. tok is never modified.
// Recording a new client address once the write succeeded emits
// EventNewAddress, its actor user.
func (s *Service) recordUse(ctx context.Context, user *User, tok *Token, ip string, now time.Time) *Token {
	if !s.useDue(tok, ip, now) {
		return tok
	}
	prev, ok := s.uses.acquire(tok.ID)
	if !ok { // another request is writing this token's use
		return tok
	}
	var next *Token
	defer func() { s.uses.release(tok.ID, next, now, s.opts.LastUsedInterval) }()
	// A use recorded since tok was read, by another request of this
	// process, may make this one unnecessary: what the cache holds now,
	// or (if the cache dropped or never held the token) what was written.
	if cur := s.cache.current(tok); cur != tok {
		if tok = cur; !s.useDue(tok, ip, now) {
			return tok
		}
	}
	if prev != nil && !s.useDue(prev, ip, now) {
		return tok
	}
	next = new(*tok)
	never, since := tok.LastUsedAt.IsZero(), now.Sub(tok.LastUsedAt)
	if never || since >= s.opts.LastUsedInterval {
		next.LastUsedAt = now
	}
	newIP := ip != "" && !slices.Contains(tok.LastUsedIPs, ip) && (never || since >= s.opts.LastUsedIPInterval)
	if newIP {
		ips := append(slices.Clone(tok.LastUsedIPs), ip)
		next.LastUsedIPs = ips[max(0, len(ips)-5):]
	}
	s.cache.replace(tok, next)
	// Best effort, as in GitLab: a failed bookkeeping write must not
	// refuse a valid token.
	err := s.store.SetLastUsed(ctx, next.ID, next.LastUsedAt, next.LastUsedIPs)
	if err == nil && newIP && s.events != nil {
		s.events.emit(EventNewAddress, Actor{UserID: user.ID, Username: user.Username, TokenID: next.ID, IP: ip}, next, "")
	}
	return next
}

// useLog is what a Service knows of its own last-used writes, by token ID:
// whether one is in progress, so that concurrent uses of a token never
// wait on a write or make a second one, and the last one written, so that
// a request holding a snapshot read before that write does not repeat it.
// Entries older than the last-used interval tell nothing the snapshot
// does not, and are dropped as the log grows.
type useLog struct {
	mu    sync.Mutex
	m     map[int64]*useEntry
	prune int // len(m) at which release next drops old entries
}

type useEntry struct {
	busy bool
	last *Token // the last use written, or nil
}

// acquire marks a write of id's use in progress and returns the last use
// written, unless one is in progress already (ok false).
func (l *useLog) acquire(id int64) (last *Token, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = make(map[int64]*useEntry)
	}
	e := l.m[id]
	if e == nil {
		e = new(useEntry)
		l.m[id] = e
	}
	if e.busy {
		return nil, false
	}
	e.busy = true
	return e.last, true
}

// release ends the write acquire began; written is the use written, or
// nil if none was.
func (l *useLog) release(id int64, written *Token, now time.Time, interval time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.m[id]
	e.busy = false
	if written != nil {
		e.last = written
	}
	if len(l.m) < max(l.prune, 1024) {
		return
	}
	for id, e := range l.m {
		if !e.busy && (e.last == nil || now.Sub(e.last.LastUsedAt) >= interval) {
			delete(l.m, id)
		}
	}
	l.prune = 2 * len(l.m)
}

// useDue reports whether a use of tok from ip at now is to be written:
// last_used_at once it is LastUsedInterval old, a new address once the
// last write is LastUsedIPInterval old.
func (s *Service) useDue(tok *Token, ip string, now time.Time) bool {
	if tok.LastUsedAt.IsZero() {
		return true
	}
	since := now.Sub(tok.LastUsedAt)
	return since >= s.opts.LastUsedInterval ||
		ip != "" && !slices.Contains(tok.LastUsedIPs, ip) && since >= s.opts.LastUsedIPInterval
}

// Sudo returns the principal p acts as when it names a user with the Sudo
// header or parameter: a user ID or a username (case-insensitive). Only an
// administrator authenticated with an access token holding the sudo scope
// may.
func (s *Service) Sudo(ctx context.Context, p *Principal, who string) (*Principal, error) {
	switch {
	case p.User() == nil:
		return nil, newError(ErrUnauthorized, "")
	case !p.Admin():
		return nil, newError(ErrForbidden, "Must be admin to use sudo")
	case p.token == nil:
		return nil, newError(ErrForbidden, "Must be authenticated using an OAuth or personal access token to use sudo")
	}
	if err := CheckScopes(p.token.Scopes, []Scope{ScopeSudo}); err != nil {
		return nil, err
	}
	var (
		u   *User
		err error
	)
	if id, perr := strconv.ParseInt(who, 10, 64); perr == nil {
		u, err = s.userByID(ctx, id)
	} else {
		u, err = s.userByUsername(ctx, who)
	}
	if errors.Is(err, ErrNotFound) {
		return nil, newError(ErrNotFound, fmt.Sprintf("User with ID or username '%s' Not Found", who))
	}
	if err != nil {
		return nil, fmt.Errorf("patkit: sudo: %w", err)
	}
	return &Principal{user: u, token: p.token, admin: s.actsAsAdmin(u, p.token, false), sudoer: p.user, ip: p.ip}, nil
}

// revokeAs revokes t for p, and emits EventRevoked with the reason unless
// t was revoked already.
func (s *Service) revokeAs(ctx context.Context, p *Principal, t *Token, reason RevocationReason) error {
	if err := s.revokeInStore(ctx, t.ID); err != nil {
		return err
	}
	if s.events != nil && !t.Revoked {
		if reason == "" {
			reason = revocationReason(p, t)
		}
		r := t.Clone()
		r.Revoked = true
		s.events.emit(EventRevoked, actorOf(p), r, reason)
	}
	return nil
}

// revocationReason tells who p is to the token t it revokes: its owner,
// an administrator, or a manager of its project or group.
func revocationReason(p *Principal, t *Token) RevocationReason {
	switch {
	case p.User() != nil && p.user.ID == t.UserID:
		return ReasonOwner
	case p.Admin():
		return ReasonAdministrator
	case t.ResourceType != "":
		return ReasonResourceManager
	}
	return ReasonAdministrator
}

// revokeInStore revokes a token at the Service's time, ending the grace
// of its rotated-out ancestors, and drops it from the cache.
func (s *Service) revokeInStore(ctx context.Context, id int64) error {
	err := s.store.Revoke(ctx, id, s.now())
	s.cache.invalidate(id)
	if err != nil {
		return fmt.Errorf("patkit: revoke token: %w", err)
	}
	return nil
}

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
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
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
	// required (equality accepted). Default 365.
	MaxLifetimeDays int
	// RotationDays is the lifetime of a rotated token when the caller names
	// no expiry and expiry is required: today + N days, capped by
	// MaxLifetimeDays. Default 7.
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

	leases sync.Map // token ID -> struct{}: a last-used write in progress
	cache  *authCache
	macs   sync.Pool // of hash.Hash: HMAC-SHA-256 keyed with key, reused
}

// MinKeyLen is the minimum length of the instance key given to New.
const MinKeyLen = 32

// New returns a Service storing tokens in store and asking dir about users
// and resources. key is the instance secret that keys the digest of every
// token (HMAC-SHA-256); it must be at least MinKeyLen bytes and stay the
// same for the life of the store: tokens digested under another key do not
// authenticate.
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
	o := &s.opts
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
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	return s, nil
}

// Prefix returns the prefix of the secrets s creates.
func (s *Service) Prefix() string { return s.opts.Prefix }

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

// Now returns the Service's current time (Options.Now, in UTC): the
// instant token states are computed at.
func (s *Service) Now() time.Time { return s.now() }

// TokenOptions are the attributes of a new token.
type TokenOptions struct {
	Name        string
	Description string
	Scopes      []Scope
	// ExpiresAt is the expiry date (any time of day is truncated to the
	// date in UTC). The zero Time asks for the endpoint's default.
	ExpiresAt time.Time
	// AccessLevel is the level of a project or group access token's bot;
	// zero means Maintainer. Ignored for other tokens.
	AccessLevel AccessLevel
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

// ---------------------------------------------------------------------------
// Authentication

// AuthRequest describes the request a secret was presented with.
type AuthRequest struct {
	// RemoteIP is the client address recorded in last_used_ips; empty
	// records none.
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
// ErrImpersonationDisabled, ErrInsufficientScope when req.Scopes is set and
// not met, or ErrForbidden for a blocked user.
//
// On success it records the use (SPEC §6.5): last_used_at at most once per
// LastUsedInterval, a new client address at most once per
// LastUsedIPInterval, the five newest addresses kept. A write already in
// progress for the token in this process is not waited for, and a failed
// write does not fail authentication.
func (s *Service) Authenticate(ctx context.Context, secret string, req AuthRequest) (*Principal, error) {
	if !wellFormed(s.opts.Prefix, secret) {
		return nil, newError(ErrUnauthorized, "")
	}
	d := s.digest(secret)
	now := s.now()
	tok, version := s.cache.get(d, now)
	if tok == nil {
		var err error
		tok, err = s.store.GetByDigest(ctx, d)
		if errors.Is(err, ErrNotFound) {
			return nil, newError(ErrUnauthorized, "")
		}
		if err != nil {
			return nil, fmt.Errorf("patkit: authenticate: %w", err)
		}
		s.cache.put(tok, now, version)
	}
	switch {
	case tok.Expired(now):
		return nil, newError(ErrTokenExpired, "")
	case tok.Revoked:
		if req.Rotate {
			if err := s.revokeDescendants(ctx, tok.ID, now); err != nil {
				return nil, err
			}
		}
		return nil, newError(ErrTokenRevoked, "")
	case tok.Impersonation && s.opts.ImpersonationDisabled:
		return nil, newError(ErrImpersonationDisabled, "")
	}
	if req.Scopes != nil {
		if err := CheckScopes(tok.Scopes, req.Scopes); err != nil {
			return nil, err
		}
	}
	user, err := s.dir.UserByID(ctx, tok.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, newError(ErrUnauthorized, "")
	}
	if err != nil {
		return nil, fmt.Errorf("patkit: authenticate: %w", err)
	}
	if user.Blocked {
		return nil, newError(ErrForbidden, "Your account has been blocked.")
	}
	s.recordUse(ctx, tok, req.RemoteIP, now)
	return &Principal{User: user, Token: tok, Admin: s.actsAsAdmin(user, tok)}, nil
}

func (s *Service) actsAsAdmin(u *User, t *Token) bool {
	return u.Admin && (!s.opts.AdminMode || t != nil && slices.Contains(t.Scopes, ScopeAdminMode))
}

// recordUse updates tok's last-used fields in place and in the store, if
// GitLab's throttles call for a write.
func (s *Service) recordUse(ctx context.Context, tok *Token, ip string, now time.Time) {
	never := tok.LastUsedAt.IsZero()
	since := now.Sub(tok.LastUsedAt)
	writeTime := never || since >= s.opts.LastUsedInterval
	writeIP := ip != "" && (never || !slices.Contains(tok.LastUsedIPs, ip) && since >= s.opts.LastUsedIPInterval)
	if !writeTime && !writeIP {
		return
	}
	if _, busy := s.leases.LoadOrStore(tok.ID, struct{}{}); busy {
		return
	}
	defer s.leases.Delete(tok.ID)
	if writeTime {
		tok.LastUsedAt = now
	}
	if writeIP {
		ips := slices.DeleteFunc(slices.Clone(tok.LastUsedIPs), func(x string) bool { return x == ip })
		ips = append(ips, ip)
		if len(ips) > 5 {
			ips = ips[len(ips)-5:]
		}
		tok.LastUsedIPs = ips
	}
	s.cache.update(tok)
	// Best effort, as in GitLab: a failed bookkeeping write must not
	// refuse a valid token.
	_ = s.store.SetLastUsed(ctx, tok.ID, tok.LastUsedAt, tok.LastUsedIPs)
}

// revokeInStore revokes a token and drops it from the cache.
func (s *Service) revokeInStore(ctx context.Context, id int64) error {
	err := s.store.Revoke(ctx, id)
	s.cache.invalidate(id)
	if err != nil {
		return fmt.Errorf("patkit: revoke token: %w", err)
	}
	return nil
}

// revokeDescendants revokes every active token descending from id through
// rotation (SPEC §6.4). IDs grow along a family, which bounds the walk.
func (s *Service) revokeDescendants(ctx context.Context, id int64, now time.Time) error {
	queue := []int64{id}
	for len(queue) > 0 {
		parent := queue[0]
		queue = queue[1:]
		q := &Query{PreviousID: parent, Filter: Filter{Page: 1, PerPage: 100}, Now: now}
		for {
			children, _, err := s.store.List(ctx, q)
			if err != nil {
				return fmt.Errorf("patkit: revoke token family: %w", err)
			}
			for _, c := range children {
				if c.ID <= parent {
					continue
				}
				if !c.Revoked {
					if err := s.revokeInStore(ctx, c.ID); err != nil && !errors.Is(err, ErrNotFound) {
						return err
					}
				}
				queue = append(queue, c.ID)
			}
			if len(children) < q.PerPage {
				break
			}
			q.Page++
		}
	}
	return nil
}

// Sudo returns the principal p acts as when it names a user with the Sudo
// header or parameter: a user ID or a username (case-insensitive). Only an
// administrator authenticated with an access token holding the sudo scope
// may.
func (s *Service) Sudo(ctx context.Context, p *Principal, who string) (*Principal, error) {
	switch {
	case p == nil || p.User == nil:
		return nil, newError(ErrUnauthorized, "")
	case !p.Admin:
		return nil, newError(ErrForbidden, "Must be admin to use sudo")
	case p.Token == nil:
		return nil, newError(ErrForbidden, "Must be authenticated using an OAuth or personal access token to use sudo")
	}
	if err := CheckScopes(p.Token.Scopes, []Scope{ScopeSudo}); err != nil {
		return nil, err
	}
	var (
		u   *User
		err error
	)
	if id, perr := strconv.ParseInt(who, 10, 64); perr == nil {
		u, err = s.dir.UserByID(ctx, id)
	} else {
		u, err = s.dir.UserByUsername(ctx, who)
	}
	if errors.Is(err, ErrNotFound) {
		return nil, newError(ErrNotFound, fmt.Sprintf("User with ID or username '%s' Not Found", who))
	}
	if err != nil {
		return nil, fmt.Errorf("patkit: sudo: %w", err)
	}
	return &Principal{User: u, Token: p.Token, Admin: s.actsAsAdmin(u, p.Token), Sudoer: p.User}, nil
}

// ---------------------------------------------------------------------------
// Personal access tokens

// ListTokens lists personal access tokens (GET /personal_access_tokens).
// Administrators see every token of the instance, or those of userID when
// it is non-zero (ErrNotFound if no such user); other users see only their
// own tokens that are not impersonation tokens, and naming another userID
// fails with ErrUnauthorized.
func (s *Service) ListTokens(ctx context.Context, p *Principal, userID int64, f Filter) (*Page, error) {
	if p == nil || p.User == nil {
		return nil, newError(ErrUnauthorized, "")
	}
	q := &Query{Filter: f}
	if p.Admin {
		if userID != 0 {
			if _, err := s.user(ctx, userID, "Not Found"); err != nil {
				return nil, err
			}
			q.UserID = userID
		}
	} else {
		if userID != 0 && !Allowed(p, ReadUserTokens, Target{OwnerID: userID}) {
			return nil, newError(ErrUnauthorized, "")
		}
		q.UserID = p.User.ID
		q.Impersonation = new(false)
	}
	return s.list(ctx, q)
}

func (s *Service) list(ctx context.Context, q *Query) (*Page, error) {
	if err := validateFilter(&q.Filter); err != nil {
		return nil, err
	}
	q.Normalize()
	q.Now = s.now()
	toks, total, err := s.store.List(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("patkit: list tokens: %w", err)
	}
	if total > MaxCount {
		total = -1
	}
	return &Page{Tokens: toks, Total: total, Page: q.Page, PerPage: q.PerPage}, nil
}

func validateFilter(f *Filter) error {
	switch f.State {
	case StateAny, StateActive, StateInactive:
	default:
		return invalid(FieldError{"state", "does not have a valid value"})
	}
	return nil
}

// Token returns a personal access token by ID (GET
// /personal_access_tokens/:id). The owner and administrators may read it;
// others get ErrUnauthorized, which hides whether it exists, and
// administrators get ErrNotFound for a missing token.
func (s *Service) Token(ctx context.Context, p *Principal, id int64) (*Token, error) {
	return s.readable(ctx, p, id)
}

// readable returns the token if p may read its owner's tokens, with
// GitLab's existence hiding.
func (s *Service) readable(ctx context.Context, p *Principal, id int64) (*Token, error) {
	if p == nil || p.User == nil {
		return nil, newError(ErrUnauthorized, "")
	}
	t, err := s.store.Get(ctx, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("patkit: get token: %w", err)
	}
	if err == nil && Allowed(p, ReadUserTokens, Target{OwnerID: t.UserID}) {
		return t, nil
	}
	if p.Admin {
		return nil, newError(ErrNotFound, "Not Found")
	}
	return nil, newError(ErrUnauthorized, "")
}

// RevokeToken revokes a personal or impersonation token by ID (DELETE
// /personal_access_tokens/:id). A missing token is ErrNotFound ("Not
// found") for every caller; a token p may not revoke is ErrBadRequest ("Not
// permitted to revoke"). Revoking a revoked token succeeds.
func (s *Service) RevokeToken(ctx context.Context, p *Principal, id int64) error {
	t, err := s.store.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return newError(ErrNotFound, "Not found")
	}
	if err != nil {
		return fmt.Errorf("patkit: revoke token: %w", err)
	}
	return s.revoke(ctx, p, t)
}

func (s *Service) revoke(ctx context.Context, p *Principal, t *Token) error {
	if !Allowed(p, RevokeToken, Target{Token: t}) {
		return newError(ErrBadRequest, "Not permitted to revoke")
	}
	return s.revokeInStore(ctx, t.ID)
}

// RevokeSelf revokes the token p authenticated with (DELETE
// /personal_access_tokens/self). A non-administrator cannot revoke their
// own impersonation token (ErrBadRequest).
func (s *Service) RevokeSelf(ctx context.Context, p *Principal) error {
	if p == nil || p.Token == nil {
		return newError(ErrBadRequest, "This endpoint requires token type to be a personal access token")
	}
	return s.revoke(ctx, p, p.Token)
}

// RotateToken rotates a token by ID (POST /personal_access_tokens/:id/rotate):
// the token is revoked and a copy with a new secret and expiry is created,
// atomically. expiresAt zero means today + RotationDays when expiry is
// required, else no expiry. Access is as for Token; a revoked token is
// ErrBadRequest ("Token already revoked"); an expiry beyond the maximum
// lifetime is ErrInvalid. The target's own expiry is not checked.
func (s *Service) RotateToken(ctx context.Context, p *Principal, id int64, expiresAt time.Time) (*Token, string, error) {
	t, err := s.readable(ctx, p, id)
	if err != nil {
		return nil, "", err
	}
	return s.rotate(ctx, t, expiresAt)
}

// RotateSelf rotates the token p authenticated with (POST
// /personal_access_tokens/self/rotate). It works for every kind of access
// token; a principal without a token gets ErrNotAllowed.
func (s *Service) RotateSelf(ctx context.Context, p *Principal, expiresAt time.Time) (*Token, string, error) {
	if p == nil || p.Token == nil {
		return nil, "", newError(ErrNotAllowed, "")
	}
	return s.rotate(ctx, p.Token, expiresAt)
}

func (s *Service) rotate(ctx context.Context, old *Token, expiresAt time.Time) (*Token, string, error) {
	if old.Revoked {
		return nil, "", newError(ErrBadRequest, "Token already revoked")
	}
	today := Date(s.now())
	if expiresAt.IsZero() {
		if !s.opts.AllowNoExpiry {
			expiresAt = today.AddDate(0, 0, min(s.opts.RotationDays, s.opts.MaxLifetimeDays))
		}
	} else if fe := s.checkExpiry(Date(expiresAt), today); fe != nil {
		return nil, "", invalid(*fe)
	}
	next := &Token{
		UserID:        old.UserID,
		Name:          old.Name,
		Description:   old.Description,
		Scopes:        slices.Clone(old.Scopes),
		Impersonation: old.Impersonation,
		ResourceType:  old.ResourceType,
		ResourceID:    old.ResourceID,
		AccessLevel:   old.AccessLevel,
		CreatedAt:     s.now(),
		ExpiresAt:     Date(expiresAt),
		PreviousID:    old.ID,
	}
	if expiresAt.IsZero() {
		next.ExpiresAt = time.Time{}
	}
	secret, err := s.seal(next)
	if err != nil {
		return nil, "", err
	}
	err = s.store.Rotate(ctx, old.ID, next)
	s.cache.invalidate(old.ID)
	switch {
	case errors.Is(err, ErrTokenRevoked):
		return nil, "", newError(ErrBadRequest, "Token already revoked")
	case errors.Is(err, ErrNotFound):
		return nil, "", newError(ErrNotFound, "Not Found")
	case err != nil:
		return nil, "", fmt.Errorf("patkit: rotate token: %w", err)
	}
	return next, secret, nil
}

// digest returns digest(s.key, secret), reusing HMAC states: keying one
// costs two SHA-256 blocks and four allocations.
func (s *Service) digest(secret string) []byte {
	m, _ := s.macs.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, s.key)
	}
	m.Reset()
	io.WriteString(m, secret)
	d := m.Sum(nil)
	s.macs.Put(m)
	return d
}

// seal gives t a new secret and its digest, and returns the secret.
func (s *Service) seal(t *Token) (string, error) {
	secret, err := newSecret(s.opts.Prefix, s.opts.Rand)
	if err != nil {
		return "", fmt.Errorf("patkit: generate secret: %w", err)
	}
	t.Digest = s.digest(secret)
	return secret, nil
}

// CreateToken creates a personal access token for a user (POST
// /users/:user_id/personal_access_tokens). Only administrators may
// (ErrForbidden); a missing user is ErrNotFound ("User Not Found");
// validation failures are ErrInvalid. A zero ExpiresAt means today +
// MaxLifetimeDays when expiry is required.
func (s *Service) CreateToken(ctx context.Context, p *Principal, userID int64, o TokenOptions) (*Token, string, error) {
	if !Allowed(p, CreateUserToken, Target{}) {
		return nil, "", newError(ErrForbidden, "")
	}
	u, err := s.user(ctx, userID, "User Not Found")
	if err != nil {
		return nil, "", err
	}
	return s.create(ctx, u, o, AllScopes(), true, false)
}

// CreateOwnToken creates a token for p's own user (POST
// /user/personal_access_tokens), limited to SelfServiceScopes. Bots may
// not (ErrInvalid, "Not permitted to create").
func (s *Service) CreateOwnToken(ctx context.Context, p *Principal, o TokenOptions) (*Token, string, error) {
	if p == nil || p.User == nil {
		return nil, "", newError(ErrUnauthorized, "")
	}
	if !Allowed(p, CreateOwnToken, Target{}) {
		return nil, "", invalid(FieldError{"base", "Not permitted to create"})
	}
	return s.create(ctx, p.User, o, SelfServiceScopes(), true, false)
}

func (s *Service) create(ctx context.Context, u *User, o TokenOptions, allowed []Scope, defaultExpiry, impersonation bool) (*Token, string, error) {
	t, err := s.newToken(u, o, allowed, defaultExpiry)
	if err != nil {
		return nil, "", err
	}
	t.Impersonation = impersonation
	return s.save(ctx, t)
}

func (s *Service) save(ctx context.Context, t *Token) (*Token, string, error) {
	secret, err := s.seal(t)
	if err != nil {
		return nil, "", err
	}
	if err := s.store.Create(ctx, t); err != nil {
		return nil, "", fmt.Errorf("patkit: create token: %w", err)
	}
	return t, secret, nil
}

// newToken validates o as GitLab's model does and returns the token to
// create for u, without secret.
func (s *Service) newToken(u *User, o TokenOptions, allowed []Scope, defaultExpiry bool) (*Token, error) {
	now := s.now()
	today := Date(now)
	var errs []FieldError
	if strings.TrimSpace(o.Name) == "" {
		errs = append(errs, FieldError{"name", "can't be blank"})
	} else if utf8.RuneCountInString(o.Name) > 255 {
		errs = append(errs, FieldError{"name", "is too long (maximum is 255 characters)"})
	}
	if utf8.RuneCountInString(o.Description) > 255 {
		errs = append(errs, FieldError{"description", "is too long (maximum is 255 characters)"})
	}
	scopes := dedupe(o.Scopes)
	scopesOK := false
	if len(scopes) == 0 {
		errs = append(errs, FieldError{"scopes", "can't be blank"})
	} else if !subset(scopes, allowed) {
		errs = append(errs, FieldError{"scopes", "can only contain available scopes"})
	} else {
		scopesOK = true
	}
	exp := time.Time{}
	if !o.ExpiresAt.IsZero() {
		exp = Date(o.ExpiresAt)
	} else if defaultExpiry && !s.opts.AllowNoExpiry {
		exp = today.AddDate(0, 0, s.opts.MaxLifetimeDays)
	}
	if exp.IsZero() && !s.opts.AllowNoExpiry {
		errs = append(errs, FieldError{"expires_at", "can't be blank"})
	} else if !exp.IsZero() {
		if fe := s.checkExpiry(exp, today); fe != nil {
			errs = append(errs, *fe)
		}
	}
	if scopesOK && !u.Admin {
		for _, sc := range scopes {
			if AdminScope(sc) {
				errs = append(errs, FieldError{"base", fieldLabel(string(sc)) + " can only be enabled for administrators"})
			}
		}
	}
	if len(errs) > 0 {
		return nil, invalid(errs...)
	}
	return &Token{
		UserID:      u.ID,
		Name:        o.Name,
		Description: o.Description,
		Scopes:      scopes,
		CreatedAt:   now,
		ExpiresAt:   exp,
	}, nil
}

// checkExpiry enforces the maximum lifetime: expiry must be at most today +
// MaxLifetimeDays. Past dates are accepted, as in GitLab.
func (s *Service) checkExpiry(exp, today time.Time) *FieldError {
	if s.opts.AllowNoExpiry {
		return nil
	}
	limit := today.AddDate(0, 0, s.opts.MaxLifetimeDays)
	if exp.After(limit) {
		return &FieldError{"expires_at", "must be before " + limit.Format(time.DateOnly)}
	}
	return nil
}

func dedupe(in []Scope) []Scope {
	var out []Scope
	for _, s := range in {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func subset(a, b []Scope) bool {
	for _, s := range a {
		if !slices.Contains(b, s) {
			return false
		}
	}
	return true
}

// user looks up a user, turning a missing one into ErrNotFound with msg.
func (s *Service) user(ctx context.Context, id int64, msg string) (*User, error) {
	u, err := s.dir.UserByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, newError(ErrNotFound, msg)
	}
	if err != nil {
		return nil, fmt.Errorf("patkit: find user: %w", err)
	}
	return u, nil
}

// ---------------------------------------------------------------------------
// Impersonation tokens

// impersonated checks that p administers impersonation tokens and returns
// the user.
func (s *Service) impersonated(ctx context.Context, p *Principal, userID int64) (*User, error) {
	if p == nil || p.User == nil {
		return nil, newError(ErrUnauthorized, "")
	}
	if !Allowed(p, ManageImpersonation, Target{}) {
		return nil, newError(ErrForbidden, "")
	}
	return s.user(ctx, userID, "User Not Found")
}

// ListImpersonationTokens lists a user's impersonation tokens (GET
// /users/:user_id/impersonation_tokens); administrators only. Of f, only
// State and the page are used.
func (s *Service) ListImpersonationTokens(ctx context.Context, p *Principal, userID int64, f Filter) (*Page, error) {
	if _, err := s.impersonated(ctx, p, userID); err != nil {
		return nil, err
	}
	return s.list(ctx, &Query{
		Filter:        Filter{State: f.State, Page: f.Page, PerPage: f.PerPage},
		UserID:        userID,
		Impersonation: new(true),
	})
}

// ImpersonationToken returns one impersonation token of a user;
// administrators only. A token of another user or one that is not an
// impersonation token is ErrNotFound ("Impersonation Token Not Found").
func (s *Service) ImpersonationToken(ctx context.Context, p *Principal, userID, id int64) (*Token, error) {
	if _, err := s.impersonated(ctx, p, userID); err != nil {
		return nil, err
	}
	t, err := s.store.Get(ctx, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("patkit: get token: %w", err)
	}
	if err != nil || !t.Impersonation || t.UserID != userID {
		return nil, newError(ErrNotFound, "Impersonation Token Not Found")
	}
	return t, nil
}

// CreateImpersonationToken creates an impersonation token for a user;
// administrators only. No expiry is defaulted: without one the token is
// refused while expiry is required. Past dates are accepted.
func (s *Service) CreateImpersonationToken(ctx context.Context, p *Principal, userID int64, o TokenOptions) (*Token, string, error) {
	u, err := s.impersonated(ctx, p, userID)
	if err != nil {
		return nil, "", err
	}
	return s.create(ctx, u, o, AllScopes(), false, true)
}

// RevokeImpersonationToken revokes an impersonation token of a user;
// administrators only. Revoking a revoked token succeeds.
func (s *Service) RevokeImpersonationToken(ctx context.Context, p *Principal, userID, id int64) error {
	t, err := s.ImpersonationToken(ctx, p, userID, id)
	if err != nil {
		return err
	}
	return s.revokeInStore(ctx, t.ID)
}

// ---------------------------------------------------------------------------
// Project and group access tokens

// resource resolves a project or group and p's level in it.
func (s *Service) resource(ctx context.Context, p *Principal, typ ResourceType, ref string) (*Resource, AccessLevel, error) {
	if p == nil || p.User == nil {
		return nil, 0, newError(ErrUnauthorized, "")
	}
	if typ != ResourceProject && typ != ResourceGroup {
		return nil, 0, fmt.Errorf("patkit: resource type %q: %w", typ, ErrInvalid)
	}
	r, err := s.dir.Resource(ctx, typ, ref)
	if errors.Is(err, ErrNotFound) {
		return nil, 0, newError(ErrNotFound, resourceLabel(typ)+" Not Found")
	}
	if err != nil {
		return nil, 0, fmt.Errorf("patkit: find %s: %w", typ, err)
	}
	level, err := s.dir.AccessLevel(ctx, p.User.ID, r)
	if err != nil {
		return nil, 0, fmt.Errorf("patkit: access level: %w", err)
	}
	return r, level, nil
}

func resourceLabel(t ResourceType) string {
	if t == ResourceGroup {
		return "Group"
	}
	return "Project"
}

// resourceToken finds a token of r, or ErrNotFound with GitLab's message.
func (s *Service) resourceToken(ctx context.Context, r *Resource, id int64) (*Token, error) {
	t, err := s.store.Get(ctx, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("patkit: get token: %w", err)
	}
	if err != nil || t.ResourceType != r.Type || t.ResourceID != r.ID {
		return nil, newError(ErrNotFound, string(r.Type)+" Access Token Not Found")
	}
	return t, nil
}

// ListResourceTokens lists the access tokens of a project or group (GET
// /{projects,groups}/:id/access_tokens). ref is a numeric ID or a full
// path. Callers below Maintainer (projects) or Owner (groups) get
// ErrUnauthorized.
func (s *Service) ListResourceTokens(ctx context.Context, p *Principal, typ ResourceType, ref string, f Filter) (*Page, error) {
	r, level, err := s.resource(ctx, p, typ, ref)
	if err != nil {
		return nil, err
	}
	if !Allowed(p, ReadResourceTokens, Target{Resource: r, Level: level}) {
		return nil, newError(ErrUnauthorized, "")
	}
	page, err := s.list(ctx, &Query{Filter: f, ResourceType: r.Type, ResourceID: r.ID, Impersonation: new(false)})
	if err != nil {
		return nil, err
	}
	if err := s.liveLevels(ctx, r, page.Tokens...); err != nil {
		return nil, err
	}
	return page, nil
}

// liveLevels sets the AccessLevel of resource tokens to their bot's
// current level in r, as GitLab shows it; a bot that lost its membership
// keeps the level stored with the token.
func (s *Service) liveLevels(ctx context.Context, r *Resource, toks ...*Token) error {
	for _, t := range toks {
		l, err := s.dir.AccessLevel(ctx, t.UserID, r)
		if err != nil {
			return fmt.Errorf("patkit: access level: %w", err)
		}
		if l != NoAccess {
			t.AccessLevel = l
		}
	}
	return nil
}

// ResourceToken returns one access token of a project or group.
func (s *Service) ResourceToken(ctx context.Context, p *Principal, typ ResourceType, ref string, id int64) (*Token, error) {
	r, level, err := s.resource(ctx, p, typ, ref)
	if err != nil {
		return nil, err
	}
	if !Allowed(p, ReadResourceTokens, Target{Resource: r, Level: level}) {
		return nil, newError(ErrUnauthorized, "")
	}
	t, err := s.resourceToken(ctx, r, id)
	if err != nil {
		return nil, err
	}
	return t, s.liveLevels(ctx, r, t)
}

// CreateResourceToken creates a project or group access token and its bot
// user. Refusals are ErrBadRequest with GitLab's reasons; validation
// failures ErrInvalid. Nothing is created when either happens.
func (s *Service) CreateResourceToken(ctx context.Context, p *Principal, typ ResourceType, ref string, o TokenOptions) (*Token, string, error) {
	r, level, err := s.resource(ctx, p, typ, ref)
	if err != nil {
		return nil, "", err
	}
	if !Allowed(p, CreateResourceToken, Target{Resource: r, Level: level}) {
		return nil, "", newError(ErrBadRequest, fmt.Sprintf("User does not have permission to create %s access token", r.Type))
	}
	if o.AccessLevel == 0 {
		o.AccessLevel = Maintainer
	}
	if !ValidTokenLevel(o.AccessLevel) {
		return nil, "", invalid(FieldError{"access_level", "does not have a valid value"})
	}
	if !p.Admin && level < Owner {
		if r.Type == ResourceProject && o.AccessLevel == Owner {
			return nil, "", newError(ErrBadRequest, "Could not provision owner access to project access token")
		}
		if o.AccessLevel > level {
			return nil, "", newError(ErrBadRequest, "Access level of the token can't be greater the access level of the user who created the token")
		}
	}
	// Validate before the bot exists, so a refused token leaves nothing
	// behind.
	t, err := s.newToken(&User{}, o, ResourceScopes(), true)
	if err != nil {
		return nil, "", err
	}
	bot, err := s.dir.CreateBot(ctx, r, o.Name, o.AccessLevel)
	if err != nil {
		return nil, "", fmt.Errorf("patkit: create bot user: %w", err)
	}
	t.UserID = bot.ID
	t.ResourceType, t.ResourceID, t.AccessLevel = r.Type, r.ID, o.AccessLevel
	return s.save(ctx, t)
}

// RotateResourceToken rotates an access token of a project or group.
// Callers who may not manage the resource's tokens get ErrUnauthorized
// (administrators ErrNotFound); a token whose level exceeds the caller's is
// ErrBadRequest.
func (s *Service) RotateResourceToken(ctx context.Context, p *Principal, typ ResourceType, ref string, id int64, expiresAt time.Time) (*Token, string, error) {
	r, level, err := s.resource(ctx, p, typ, ref)
	if err != nil {
		return nil, "", err
	}
	var t *Token
	if Allowed(p, CreateResourceToken, Target{Resource: r, Level: level}) {
		t, err = s.resourceToken(ctx, r, id)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, "", err
		}
	}
	if t == nil {
		if p.Admin {
			return nil, "", newError(ErrNotFound, "Not Found")
		}
		return nil, "", newError(ErrUnauthorized, "")
	}
	if err := s.liveLevels(ctx, r, t); err != nil {
		return nil, "", err
	}
	if !p.Admin && t.AccessLevel > level {
		return nil, "", newError(ErrBadRequest, "Not eligible to rotate tokens with permissions not held by the user")
	}
	return s.rotate(ctx, t, expiresAt)
}

// RotateResourceTokenSelf rotates the project or group access token p
// authenticated with. A principal without a token or whose user is not a
// bot gets ErrNotAllowed; a token of another resource ErrUnauthorized.
func (s *Service) RotateResourceTokenSelf(ctx context.Context, p *Principal, typ ResourceType, ref string, expiresAt time.Time) (*Token, string, error) {
	if p == nil || p.Token == nil || p.User == nil || !p.User.Bot {
		return nil, "", newError(ErrNotAllowed, "")
	}
	r, _, err := s.resource(ctx, p, typ, ref)
	if err != nil {
		return nil, "", err
	}
	if p.Token.ResourceType != r.Type || p.Token.ResourceID != r.ID {
		return nil, "", newError(ErrUnauthorized, "")
	}
	return s.rotate(ctx, p.Token, expiresAt)
}

// RevokeResourceToken revokes an access token of a project or group. The
// token is looked up first, so a missing one is ErrNotFound for every
// caller; a caller who may not revoke gets ErrBadRequest ("<caller> cannot
// delete <bot>"). The bot user is kept.
func (s *Service) RevokeResourceToken(ctx context.Context, p *Principal, typ ResourceType, ref string, id int64) error {
	r, level, err := s.resource(ctx, p, typ, ref)
	if err != nil {
		return err
	}
	t, err := s.resourceToken(ctx, r, id)
	if err != nil {
		return err
	}
	bot, err := s.dir.UserByID(ctx, t.UserID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("patkit: find bot user: %w", err)
	}
	botName := t.Name
	if bot != nil {
		botName = bot.Name
	}
	if !Allowed(p, RevokeResourceToken, Target{Resource: r, Level: level}) {
		return newError(ErrBadRequest, p.User.Name+" cannot delete "+botName)
	}
	if bot == nil {
		return newError(ErrBadRequest, "Failed to find bot user")
	}
	if bl, err := s.dir.AccessLevel(ctx, bot.ID, r); err != nil {
		return fmt.Errorf("patkit: access level: %w", err)
	} else if bl == NoAccess {
		return newError(ErrBadRequest, "Failed to find bot user")
	}
	return s.revokeInStore(ctx, t.ID)
}

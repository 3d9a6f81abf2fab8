package patkit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// ListTokens lists the personal access tokens p may see (GET
// /personal_access_tokens without user_id): every token of the instance
// for an administrator, else p's own tokens that are not impersonation
// tokens.
func (s *Service) ListTokens(ctx context.Context, p *Principal, f Filter) (*Page, error) {
	if p.User() == nil {
		return nil, newError(ErrUnauthorized, "")
	}
	q := &Query{Filter: f}
	if !p.Admin() {
		q.UserID = p.user.ID
		q.Impersonation = new(false)
	}
	return s.list(ctx, q)
}

// ListUserTokens lists the tokens of one user (GET /personal_access_tokens
// with user_id). An administrator sees all of them, impersonation tokens
// included, and gets ErrNotFound for a user that does not exist; any other
// caller may name only themselves (else ErrUnauthorized) and sees what
// ListTokens shows them.
func (s *Service) ListUserTokens(ctx context.Context, p *Principal, userID int64, f Filter) (*Page, error) {
	if err := Authorize(p, ReadUserTokens, Target{OwnerID: userID}); err != nil {
		return nil, err
	}
	if !p.Admin() {
		return s.ListTokens(ctx, p, f)
	}
	if _, err := s.user(ctx, userID, "Not Found"); err != nil {
		return nil, err
	}
	return s.list(ctx, &Query{Filter: f, UserID: userID})
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

// Token returns a personal access token by ID (GET
// /personal_access_tokens/:id). The owner and administrators may read it;
// others get ErrUnauthorized, which hides whether it exists, and
// administrators get ErrNotFound for a missing token.
func (s *Service) Token(ctx context.Context, p *Principal, id int64) (*Token, error) {
	if p.User() == nil {
		return nil, newError(ErrUnauthorized, "")
	}
	t, err := s.store.Get(ctx, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("patkit: get token: %w", err)
	}
	if err == nil && Allowed(p, ReadUserTokens, Target{OwnerID: t.UserID}) {
		return t, nil
	}
	return nil, hidden(p)
}

// SelfToken returns the token p authenticated with (GET
// /personal_access_tokens/self), or ErrBadRequest for a principal that
// authenticated without one.
func (s *Service) SelfToken(p *Principal) (*Token, error) {
	if p.Token() == nil {
		return nil, newError(ErrBadRequest, "This endpoint requires token type to be a personal access token")
	}
	return p.token, nil
}

// RevokeToken revokes a personal or impersonation token by ID (DELETE
// /personal_access_tokens/:id). A missing token is ErrNotFound ("Not
// found") for every caller; a token p may not revoke is ErrBadRequest ("Not
// permitted to revoke"). Revoking a revoked token succeeds.
//
// An administrator, who may revoke every token, is answered in one write
// to the Store and no read, unless events are on: EventRevoked needs the
// token as it was.
func (s *Service) RevokeToken(ctx context.Context, p *Principal, id int64) error {
	if s.events == nil && Allowed(p, ManageAnyToken, Target{}) {
		err := s.revokeInStore(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return newError(ErrNotFound, "Not found")
		}
		return err
	}
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
	if err := Authorize(p, RevokeToken, Target{Token: t}); err != nil {
		return err
	}
	return s.revokeAs(ctx, p, t, "")
}

// RevokeSelf revokes the token p authenticated with (DELETE
// /personal_access_tokens/self). A principal without a token, and a
// non-administrator presenting their own impersonation token, get
// ErrBadRequest.
func (s *Service) RevokeSelf(ctx context.Context, p *Principal) error {
	t, err := s.SelfToken(p)
	if err != nil {
		return err
	}
	return s.revoke(ctx, p, t)
}

// RotateToken rotates a token by ID (POST /personal_access_tokens/:id/rotate):
// the token is revoked and a copy with a new secret and expiry is created,
// atomically. expiresAt zero means today + RotationDays when expiry is
// required, else no expiry; otherwise its date in UTC is the new expiry.
// Access is as for Token; a revoked token is ErrBadRequest ("Token already
// revoked"); an expiry beyond the maximum lifetime, or on 0001-01-01 (the
// zero Time's date, which a Token reads as no expiry), is ErrInvalid. The
// target's own expiry is not checked.
func (s *Service) RotateToken(ctx context.Context, p *Principal, id int64, expiresAt time.Time) (*Token, string, error) {
	t, err := s.Token(ctx, p, id)
	if err != nil {
		return nil, "", err
	}
	return s.rotate(ctx, p, t, expiresAt)
}

// RotateSelf rotates the token p authenticated with (POST
// /personal_access_tokens/self/rotate). It works for every kind of access
// token; a principal without a token gets ErrNotAllowed.
func (s *Service) RotateSelf(ctx context.Context, p *Principal, expiresAt time.Time) (*Token, string, error) {
	if p.Token() == nil {
		return nil, "", newError(ErrNotAllowed, "")
	}
	return s.rotate(ctx, p, p.token, expiresAt)
}

func (s *Service) rotate(ctx context.Context, p *Principal, old *Token, expiresAt time.Time) (*Token, string, error) {
	if old.Revoked {
		return nil, "", s.alreadyRevoked(old)
	}
	today := Date(s.now())
	if expiresAt.IsZero() {
		if !s.opts.AllowNoExpiry {
			expiresAt = today.AddDate(0, 0, min(s.opts.RotationDays, s.opts.MaxLifetimeDays))
		}
	} else {
		var fe *FieldError
		if expiresAt, fe = s.expiry(expiresAt, today); fe != nil {
			return nil, "", invalid(*fe)
		}
	}
	next := &Token{
		UserID:        old.UserID,
		Name:          old.Name,
		Description:   old.Description,
		Scopes:        slices.Clone(old.Scopes),
		AllowedCIDRs:  slices.Clone(old.AllowedCIDRs),
		Impersonation: old.Impersonation,
		ResourceType:  old.ResourceType,
		ResourceID:    old.ResourceID,
		AccessLevel:   old.AccessLevel,
		CreatedAt:     s.now(),
		PreviousID:    old.ID,
		ExpiresAt:     expiresAt,
	}
	secret, err := s.seal(ctx, next)
	if err != nil {
		return nil, "", err
	}
	err = s.store.Rotate(ctx, old.ID, next)
	s.cache.invalidate(old.ID)
	switch {
	case errors.Is(err, ErrTokenRevoked):
		// Another rotation (or a revocation) won: tell which, when a
		// grace window makes the difference.
		if s.opts.RotationGrace > 0 {
			if cur, gerr := s.store.Get(ctx, old.ID); gerr == nil {
				return nil, "", s.alreadyRevoked(cur)
			}
		}
		return nil, "", newError(ErrBadRequest, "Token already revoked")
	case errors.Is(err, ErrNotFound):
		return nil, "", newError(ErrNotFound, "Not Found")
	case err != nil:
		return nil, "", fmt.Errorf("patkit: rotate token: %w", err)
	}
	if s.events != nil {
		s.events.emit(EventRotated, actorOf(p), next, "")
	}
	return next, secret, nil
}

// alreadyRevoked is the refusal of a rotation of the revoked token t:
// GitLab's "Token already revoked", or, for a token in its grace window,
// that it was rotated.
func (s *Service) alreadyRevoked(t *Token) error {
	if s.inGrace(t, s.now()) {
		return errAlreadyRotated
	}
	return newError(ErrBadRequest, "Token already revoked")
}

// CreateToken creates a personal access token for a user (POST
// /users/:user_id/personal_access_tokens). Only administrators may
// (ErrForbidden); a missing user is ErrNotFound ("User Not Found");
// validation failures are ErrInvalid. A zero ExpiresAt means today +
// MaxLifetimeDays when expiry is required.
func (s *Service) CreateToken(ctx context.Context, p *Principal, userID int64, o TokenOptions) (*Token, string, error) {
	if err := Authorize(p, CreateUserToken, Target{}); err != nil {
		return nil, "", err
	}
	u, err := s.user(ctx, userID, "User Not Found")
	if err != nil {
		return nil, "", err
	}
	return s.create(ctx, p, u, o, AllScopes(), true, false)
}

// CreateOwnToken creates a token for p's own user (POST
// /user/personal_access_tokens), limited to SelfServiceScopes. Bots may
// not (ErrInvalid, "Not permitted to create").
func (s *Service) CreateOwnToken(ctx context.Context, p *Principal, o TokenOptions) (*Token, string, error) {
	if err := Authorize(p, CreateOwnToken, Target{}); err != nil {
		return nil, "", err
	}
	return s.create(ctx, p, p.user, o, SelfServiceScopes(), true, false)
}

// CreatePersonalToken creates a personal access token for p's own user as
// GitLab's personal access token page does: any scope of ScopesFor(user),
// the expiry defaulting as for CreateToken. Only a user the host signed
// in may (a Principal from Service.Principal): a principal that
// authenticated with an access token gets ErrForbidden, so that a token
// cannot mint a broader one; bots get ErrInvalid ("Not permitted to
// create"); validation failures are ErrInvalid.
func (s *Service) CreatePersonalToken(ctx context.Context, p *Principal, o TokenOptions) (*Token, string, error) {
	if err := Authorize(p, CreateOwnToken, Target{}); err != nil {
		return nil, "", err
	}
	if p.token != nil {
		return nil, "", newError(ErrForbidden, "Personal access tokens are created in a signed-in session, not with a token")
	}
	return s.create(ctx, p, p.user, o, ScopesFor(p.user), true, false)
}

func (s *Service) create(ctx context.Context, p *Principal, u *User, o TokenOptions, allowed []Scope, defaultExpiry, impersonation bool) (*Token, string, error) {
	t, err := s.newToken(u, o, allowed, defaultExpiry)
	if err != nil {
		return nil, "", err
	}
	t.Impersonation = impersonation
	return s.save(ctx, p, t)
}

// save stores the new token t that p creates, and emits EventCreated.
func (s *Service) save(ctx context.Context, p *Principal, t *Token) (*Token, string, error) {
	secret, err := s.seal(ctx, t)
	if err != nil {
		return nil, "", err
	}
	if err := s.store.Create(ctx, t); err != nil {
		return nil, "", fmt.Errorf("patkit: create token: %w", err)
	}
	if s.events != nil {
		s.events.emit(EventCreated, actorOf(p), t, "")
	}
	return t, secret, nil
}

// user looks up a user, turning a missing one into ErrNotFound with msg.
func (s *Service) user(ctx context.Context, id int64, msg string) (*User, error) {
	u, err := s.userByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, newError(ErrNotFound, msg)
	}
	if err != nil {
		return nil, fmt.Errorf("patkit: find user: %w", err)
	}
	return u, nil
}

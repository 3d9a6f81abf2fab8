package patkit

import (
	"context"
	"errors"
	"fmt"
)

// Impersonation tokens: administrators only, as GitLab's
// before { authenticated_as_admin! } on /users/:user_id/impersonation_tokens.

// impersonated checks that p administers impersonation tokens and returns
// the user.
func (s *Service) impersonated(ctx context.Context, p *Principal, userID int64) (*User, error) {
	if err := Authorize(p, ManageImpersonation, Target{}); err != nil {
		return nil, err
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
	return s.create(ctx, p, u, o, AllScopes(), false, true)
}

// RevokeImpersonationToken revokes an impersonation token of a user;
// administrators only. Revoking a revoked token succeeds.
func (s *Service) RevokeImpersonationToken(ctx context.Context, p *Principal, userID, id int64) error {
	t, err := s.ImpersonationToken(ctx, p, userID, id)
	if err != nil {
		return err
	}
	return s.revokeAs(ctx, p, t, "")
}

package patkit

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// IdentifyToken returns the token whose secret is secret, whatever its
// state (revoked and expired tokens are found too): GitLab's token
// information API (POST /api/v4/admin/token), the answer to "a secret was
// found in a public place: whose is it?".
//
// Only an administrator may, acting as one (see Options.AdminMode):
// anyone else gets ErrForbidden, no principal ErrUnauthorized. A value
// without this Service's prefix is not a token type it issues: ErrInvalid
// with the message "Token type not supported.". A value with the prefix
// that no token has, well-formed or not, is ErrNotFound.
//
// The token is read from the Store, not the authentication cache, and
// the lookup is not a use: its last use is left as it was.
func (s *Service) IdentifyToken(ctx context.Context, p *Principal, secret string) (*Token, error) {
	if err := Authorize(p, ManageAnyToken, Target{}); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(secret, s.opts.Prefix) {
		return nil, newError(ErrInvalid, "Token type not supported.")
	}
	if !wellFormed(s.opts.Prefix, secret) {
		return nil, newError(ErrNotFound, "")
	}
	t, err := s.lookup(ctx, secret)
	if errors.Is(err, ErrNotFound) {
		return nil, newError(ErrNotFound, "")
	}
	if err != nil {
		return nil, fmt.Errorf("patkit: identify token: %w", err)
	}
	return t, nil
}

// RevokeTokenBySecret revokes the token whose secret is secret, of any
// kind (DELETE /api/v4/admin/token), and returns it revoked: the answer to
// "kill it now". Revoking a revoked token succeeds and changes nothing.
// It fails as IdentifyToken does.
func (s *Service) RevokeTokenBySecret(ctx context.Context, p *Principal, secret string) (*Token, error) {
	t, err := s.IdentifyToken(ctx, p, secret)
	if err != nil {
		return nil, err
	}
	if !t.Revoked || t.Rotated {
		// A token that rotation revoked is revoked again: its grace
		// window, if any, ends.
		now := s.now()
		if err := s.revokeAs(ctx, p, t, ReasonAdminTokenAPI); err != nil {
			return nil, err
		}
		t = t.Clone()
		if !t.Revoked {
			t.Revoked, t.RevokedAt = true, now
		}
		t.Rotated = false
	}
	return t, nil
}

// Package bootstrap keeps the bootstrap administrator token of a patkit
// database in a file: the first credential of an instance, from which an
// operator manages every other through the API. The example server (on
// every start) and the admin CLI (patkit bootstrap) share it.
package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/patkit/patkit"
)

// Name names the bootstrap token.
const Name = "patkit bootstrap"

// Scopes are the scopes of the bootstrap token.
var Scopes = []patkit.Scope{
	patkit.ScopeAPI, patkit.ScopeReadAPI, patkit.ScopeReadUser, patkit.ScopeSudo, patkit.ScopeAdminMode,
}

// Ensure keeps exactly one active bootstrap token of user userID (an
// administrator of the host), the one in the file at path, and reports
// whether it created it; admin is the principal that creates and revokes
// bootstrap tokens:
//
//   - a file holding the active bootstrap token of userID is kept;
//   - a missing file, or one holding a bootstrap token that was revoked or
//     expired, gets a new token (logged), written whole with mode 0600
//     without following links, and every other active bootstrap token of
//     userID is revoked; if the file cannot be written the new token is
//     revoked;
//   - anything else in the file (not a token of this database, or another
//     token) is refused, never overwritten, as is a link or a file others
//     may read.
func Ensure(ctx context.Context, svc *patkit.Service, admin *patkit.Principal, userID int64, path string, log *slog.Logger) (bool, error) {
	b, err := patkit.ReadSecretFile(path)
	if err == nil {
		p, aerr := svc.Authenticate(ctx, strings.TrimSpace(string(b)), patkit.AuthRequest{})
		switch {
		case aerr == nil && p.User().ID == userID && p.Token().Name == Name:
			return false, nil
		case errors.Is(aerr, patkit.ErrTokenRevoked), errors.Is(aerr, patkit.ErrTokenExpired):
			log.Warn("the root token file holds a revoked or expired token: replacing it", "file", path)
			err = os.Remove(path)
		case aerr == nil, errors.Is(aerr, patkit.ErrUnauthorized), errors.Is(aerr, patkit.ErrForbidden):
			return false, fmt.Errorf("root token file %s does not hold this server's bootstrap token; refusing to overwrite it (move it away to create a new one)", path)
		default:
			err = aerr
		}
	} else if errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	if err != nil {
		return false, fmt.Errorf("root token: %w", err)
	}

	tok, secret, err := svc.CreateToken(ctx, admin, userID, patkit.TokenOptions{Name: Name, Scopes: Scopes})
	if err != nil {
		return false, fmt.Errorf("root token: %w", err)
	}
	if err := patkit.WriteSecretFile(path, []byte(secret+"\n")); err != nil {
		// Nobody holds the secret: it must not stay usable.
		if rerr := svc.RevokeToken(context.WithoutCancel(ctx), admin, tok.ID); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return false, fmt.Errorf("root token: %w", err)
	}
	return true, revokeOthers(ctx, svc, admin, userID, tok.ID)
}

// revokeOthers revokes every active bootstrap token of userID but keep.
// A revoked token leaves the list of active ones and the tokens after it
// move up, so a page is read again until nothing on it was revoked.
func revokeOthers(ctx context.Context, svc *patkit.Service, admin *patkit.Principal, userID, keep int64) error {
	f := patkit.Filter{State: patkit.StateActive, Search: `"` + Name + `"`, PerPage: 100, Page: 1}
	for {
		page, err := svc.ListUserTokens(ctx, admin, userID, f)
		if err != nil {
			return fmt.Errorf("root token: %w", err)
		}
		revoked := false
		for _, t := range page.Tokens {
			if t.Name == Name && t.ID != keep {
				if err := svc.RevokeToken(ctx, admin, t.ID); err != nil {
					return fmt.Errorf("root token: revoke the previous one: %w", err)
				}
				revoked = true
			}
		}
		switch {
		case revoked:
		case !page.HasNext():
			return nil
		default:
			f.Page++
		}
	}
}

package patkit_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/patkit/patkit"
)

func TestIdentifyToken(t *testing.T) {
	w := newWorld(t, &patkit.Options{AdminMode: true})
	alice, secret := w.pat(t, 2)
	_, rootNoMode := w.pat(t, 1, patkit.ScopeAPI)
	_, rootMode := w.pat(t, 1, patkit.ScopeAPI, patkit.ScopeAdminMode)
	ctx := t.Context()
	asRoot := w.login(t, rootMode)
	uses := w.store.setLastUsed.Load()

	got, err := w.svc.IdentifyToken(ctx, asRoot, secret)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != alice.ID || got.UserID != 2 || got.Revoked {
		t.Errorf("IdentifyToken = %+v, want alice's active token %d", got, alice.ID)
	}
	if n := w.store.setLastUsed.Load(); n != uses {
		t.Errorf("identifying a token recorded %d uses of it", n-uses)
	}

	bad := secret[:len(secret)-1] + "0"
	if bad == secret {
		bad = secret[:len(secret)-1] + "1"
	}
	_, unknown := newWorld(t, nil).pat(t, 2) // well-formed, held by no token here
	for _, c := range []struct {
		name   string
		p      *patkit.Principal
		secret string
		code   error
		msg    string
	}{
		{"no principal", nil, secret, patkit.ErrUnauthorized, ""},
		{"not an administrator", w.alice, secret, patkit.ErrForbidden, ""},
		{"administrator outside admin mode", w.login(t, rootNoMode), secret, patkit.ErrForbidden, ""},
		{"another type of token", asRoot, "glrt-" + strings.Repeat("x", 30), patkit.ErrInvalid, "Token type not supported."},
		{"empty", asRoot, "", patkit.ErrInvalid, "Token type not supported."},
		{"bad checksum", asRoot, bad, patkit.ErrNotFound, ""},
		{"unknown", asRoot, unknown, patkit.ErrNotFound, ""},
	} {
		_, err := w.svc.IdentifyToken(ctx, c.p, c.secret)
		var e *patkit.Error
		if !errors.Is(err, c.code) || !errors.As(err, &e) || e.Message != c.msg {
			t.Errorf("%s: err = %v, want %v %q", c.name, err, c.code, c.msg)
		}
	}
}

func TestRevokeTokenBySecret(t *testing.T) {
	w := newWorld(t, nil)
	ctx := t.Context()
	_, secret := w.pat(t, 2)
	w.login(t, secret) // cached
	got, err := w.svc.RevokeTokenBySecret(ctx, w.root, secret)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Revoked {
		t.Error("the token returned is not revoked")
	}
	if _, err := w.svc.Authenticate(ctx, secret, patkit.AuthRequest{}); !errors.Is(err, patkit.ErrTokenRevoked) {
		t.Errorf("Authenticate after revocation: %v, want ErrTokenRevoked", err)
	}
	// Again: nothing to do, no error, no write.
	writes := w.store.writes.Load()
	if got, err := w.svc.RevokeTokenBySecret(ctx, w.root, secret); err != nil || !got.Revoked {
		t.Errorf("second revocation: %v, %v", got, err)
	}
	if n := w.store.writes.Load(); n != writes {
		t.Errorf("revoking a revoked token wrote %d times", n-writes)
	}
	// A project access token, by its secret.
	rt, rsecret, err := w.svc.CreateResourceToken(ctx, w.alice, patkit.ResourceProject, "1",
		patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{patkit.ScopeAPI}, AccessLevel: patkit.Developer})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := w.svc.RevokeTokenBySecret(ctx, w.root, rsecret); err != nil || got.ID != rt.ID || !got.Revoked {
		t.Errorf("RevokeTokenBySecret(project token) = %v, %v", got, err)
	}
	if _, err := w.svc.RevokeTokenBySecret(ctx, w.alice, rsecret); !errors.Is(err, patkit.ErrForbidden) {
		t.Errorf("a non-administrator: %v, want ErrForbidden", err)
	}
}

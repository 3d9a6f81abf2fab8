package patkit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/patkit/patkit"
	"github.com/patkit/patkit/memstore"
)

func TestNew(t *testing.T) {
	dir := new(patkit.MemDirectory)
	if _, err := patkit.New(memstore.New(), dir, []byte("short"), nil); err == nil {
		t.Error("short key accepted")
	}
	if _, err := patkit.New(nil, dir, testKey, nil); err == nil {
		t.Error("nil store accepted")
	}
	if _, err := patkit.New(memstore.New(), nil, testKey, nil); err == nil {
		t.Error("nil directory accepted")
	}
	// Past 9999-12-31, a default expiry would be no date.
	for _, o := range []*patkit.Options{{MaxLifetimeDays: 1_000_001}, {RotationDays: 1_000_001}} {
		if _, err := patkit.New(memstore.New(), dir, testKey, o); err == nil {
			t.Errorf("MaxLifetimeDays %d, RotationDays %d accepted", o.MaxLifetimeDays, o.RotationDays)
		}
	}
	if _, err := patkit.New(memstore.New(), dir, testKey, &patkit.Options{MaxLifetimeDays: 1_000_000, RotationDays: 1_000_000}); err != nil {
		t.Errorf("a million days: %v", err)
	}
}

func TestCreateTokenValidation(t *testing.T) {
	long := strings.Repeat("é", 256)
	tests := []struct {
		name    string
		opts    *patkit.Options
		user    int64
		o       patkit.TokenOptions
		code    error
		msg     string
		expires time.Time
	}{
		{"default expiry is the maximum lifetime", nil, 2, patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{"api"}}, nil, "", date(2027, 3, 10)},
		{"maximum lifetime accepted", nil, 2, patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{"api"}, ExpiresAt: date(2027, 3, 10)}, nil, "", date(2027, 3, 10)},
		{"one day over the maximum", nil, 2, patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{"api"}, ExpiresAt: date(2027, 3, 11)}, patkit.ErrInvalid, "Expiration date must be before 2027-03-10", time.Time{}},
		{"custom maximum", &patkit.Options{MaxLifetimeDays: 30}, 2, patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{"api"}, ExpiresAt: date(2026, 4, 10)}, patkit.ErrInvalid, "Expiration date must be before 2026-04-09", time.Time{}},
		{"past date accepted", nil, 2, patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{"api"}, ExpiresAt: date(2020, 1, 1)}, nil, "", date(2020, 1, 1)},
		{"time of day truncated", nil, 2, patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{"api"}, ExpiresAt: time.Date(2026, 5, 1, 17, 3, 0, 0, time.UTC)}, nil, "", date(2026, 5, 1)},
		{"no expiry when allowed", &patkit.Options{AllowNoExpiry: true}, 2, patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{"api"}}, nil, "", time.Time{}},
		{"no maximum when expiry optional", &patkit.Options{AllowNoExpiry: true}, 2, patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{"api"}, ExpiresAt: date(2030, 1, 1)}, nil, "", date(2030, 1, 1)},
		{"blank name", nil, 2, patkit.TokenOptions{Name: "  ", Scopes: []patkit.Scope{"api"}}, patkit.ErrInvalid, "Name can't be blank", time.Time{}},
		{"long description", nil, 2, patkit.TokenOptions{Name: "ci", Description: long, Scopes: []patkit.Scope{"api"}}, patkit.ErrInvalid, "Description is too long (maximum is 255 characters)", time.Time{}},
		{"255-character description", nil, 2, patkit.TokenOptions{Name: "ci", Description: long[:2*255], Scopes: []patkit.Scope{"api"}}, nil, "", date(2027, 3, 10)},
		{"no scopes", nil, 2, patkit.TokenOptions{Name: "ci"}, patkit.ErrInvalid, "Scopes can't be blank", time.Time{}},
		{"unknown scope", nil, 2, patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{"openid"}}, patkit.ErrInvalid, "Scopes can only contain available scopes", time.Time{}},
		{"sudo for a user", nil, 2, patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{"sudo"}}, patkit.ErrInvalid, "Sudo can only be enabled for administrators", time.Time{}},
		{"admin_mode for a user", nil, 2, patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{"api", "admin_mode"}}, patkit.ErrInvalid, "Admin mode can only be enabled for administrators", time.Time{}},
		{"sudo for an admin", nil, 1, patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{"sudo", "admin_mode"}}, nil, "", date(2027, 3, 10)},
		{"several errors", nil, 2, patkit.TokenOptions{Scopes: []patkit.Scope{"nope"}, ExpiresAt: date(2028, 1, 1)}, patkit.ErrInvalid, "Name can't be blank, Scopes can only contain available scopes, and Expiration date must be before 2027-03-10", time.Time{}},
		{"missing user", nil, 99, patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{"api"}}, patkit.ErrNotFound, "User Not Found", time.Time{}},
		// 0001-01-01 is the zero Time's date, which a Token reads as no
		// expiry: not a date a token can expire on.
		{"a time of 0001-01-01", nil, 2, patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{"api"}, ExpiresAt: time.Date(1, 1, 1, 12, 0, 0, 0, time.UTC)}, patkit.ErrInvalid, "Expiration date is invalid", time.Time{}},
		{"a time of 0001-01-01, expiry optional", &patkit.Options{AllowNoExpiry: true}, 2, patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{"api"}, ExpiresAt: time.Date(1, 1, 2, 1, 0, 0, 0, time.FixedZone("", 2*3600))}, patkit.ErrInvalid, "Expiration date is invalid", time.Time{}},
		{"a date before 0001-01-01", &patkit.Options{AllowNoExpiry: true}, 2, patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{"api"}, ExpiresAt: date(0, 12, 31)}, nil, "", date(0, 12, 31)},
		// A date is YYYY-MM-DD, in the API, the stores and GitLab's
		// clients.
		{"the last four-digit date", &patkit.Options{AllowNoExpiry: true}, 2, patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{"api"}, ExpiresAt: date(9999, 12, 31)}, nil, "", date(9999, 12, 31)},
		{"a five-digit year", &patkit.Options{AllowNoExpiry: true}, 2, patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{"api"}, ExpiresAt: date(10000, 1, 1)}, patkit.ErrInvalid, "Expiration date is invalid", time.Time{}},
		{"a year before 0", &patkit.Options{AllowNoExpiry: true}, 2, patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{"api"}, ExpiresAt: date(-1, 12, 31)}, patkit.ErrInvalid, "Expiration date is invalid", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, tt.opts)
			tok, secret, err := w.svc.CreateToken(t.Context(), w.root, tt.user, tt.o)
			wantErr(t, err, tt.code, tt.msg)
			if err != nil {
				if n := w.store.writes.Load(); n != 0 {
					t.Errorf("failed create wrote %d times", n)
				}
				return
			}
			if !tok.ExpiresAt.Equal(tt.expires) {
				t.Errorf("ExpiresAt = %v, want %v", tok.ExpiresAt, tt.expires)
			}
			if !strings.HasPrefix(secret, "glpat-") || tok.Impersonation || tok.UserID != tt.user {
				t.Errorf("token %+v secret %q", tok, secret)
			}
			stored := w.get(t, tok.ID)
			if bytes.Contains(stored.Digest, []byte(secret)) || len(stored.Digest) != 32 {
				t.Error("stored digest is not a 32-byte digest")
			}
		})
	}
}

func TestCreateOwnToken(t *testing.T) {
	w := newWorld(t, nil)
	tok, _, err := w.svc.CreateOwnToken(t.Context(), w.alice, patkit.TokenOptions{Name: "k8s", Scopes: []patkit.Scope{"k8s_proxy", "self_rotate"}})
	wantErr(t, err, nil, "")
	if tok.UserID != 2 || !tok.ExpiresAt.Equal(date(2027, 3, 10)) {
		t.Errorf("token %+v", tok)
	}
	_, _, err = w.svc.CreateOwnToken(t.Context(), w.alice, patkit.TokenOptions{Name: "k8s", Scopes: []patkit.Scope{"api"}})
	wantErr(t, err, patkit.ErrInvalid, "Scopes can only contain available scopes")

	_, bot := w.resourceToken(t, patkit.ResourceProject, "1", patkit.Maintainer)
	_, _, err = w.svc.CreateOwnToken(t.Context(), w.login(t, bot), patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{"k8s_proxy"}})
	wantErr(t, err, patkit.ErrInvalid, "Not permitted to create")
	_, _, err = w.svc.CreateOwnToken(t.Context(), nil, patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{"k8s_proxy"}})
	wantErr(t, err, patkit.ErrUnauthorized, "")
}

// resourceToken creates a project or group access token as alice and
// returns it with its secret.
func (w *world) resourceToken(t testing.TB, typ patkit.ResourceType, ref string, level patkit.AccessLevel) (*patkit.Token, string) {
	t.Helper()
	tok, secret, err := w.svc.CreateResourceToken(t.Context(), w.alice, typ, ref, patkit.TokenOptions{Name: "bot", Scopes: []patkit.Scope{"api"}, AccessLevel: level})
	if err != nil {
		t.Fatalf("CreateResourceToken: %v", err)
	}
	return tok, secret
}

func TestAuthenticate(t *testing.T) {
	w := newWorld(t, nil)
	tok, secret := w.pat(t, 2, patkit.ScopeReadAPI)
	p, err := w.svc.Authenticate(t.Context(), secret, patkit.AuthRequest{RemoteIP: "10.0.0.1"})
	wantErr(t, err, nil, "")
	if p.User().ID != 2 || p.Token().ID != tok.ID || p.Admin() {
		t.Errorf("principal %+v", p)
	}

	t.Run("malformed secrets cost no storage access", func(t *testing.T) {
		before := w.store.getByDigest.Load()
		for _, s := range []string{"", "glpat-", secret[:len(secret)-1], secret + "x", "x" + secret[1:], strings.ToUpper(secret), secret[:10] + "!" + secret[11:]} {
			_, err := w.svc.Authenticate(t.Context(), s, patkit.AuthRequest{})
			wantErr(t, err, patkit.ErrUnauthorized, "")
		}
		if n := w.store.getByDigest.Load() - before; n != 0 {
			t.Errorf("%d store lookups for malformed secrets", n)
		}
	})
	t.Run("unknown secret", func(t *testing.T) {
		other := newWorld(t, nil)
		_, s := other.pat(t, 2)
		_, err := w.svc.Authenticate(t.Context(), s, patkit.AuthRequest{})
		wantErr(t, err, patkit.ErrUnauthorized, "")
	})
	t.Run("another instance key does not authenticate", func(t *testing.T) {
		svc, err := patkit.New(w.store, w.dir, bytes.Repeat([]byte("k"), 32), &patkit.Options{Now: w.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		_, err = svc.Authenticate(t.Context(), secret, patkit.AuthRequest{})
		wantErr(t, err, patkit.ErrUnauthorized, "")
	})
	t.Run("another prefix does not authenticate", func(t *testing.T) {
		svc, err := patkit.New(w.store, w.dir, testKey, &patkit.Options{Prefix: "acme-", Now: w.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		_, err = svc.Authenticate(t.Context(), secret, patkit.AuthRequest{})
		wantErr(t, err, patkit.ErrUnauthorized, "")
		_, s, err := svc.CreateToken(t.Context(), w.root, 2, patkit.TokenOptions{Name: "p", Scopes: []patkit.Scope{"api"}})
		wantErr(t, err, nil, "")
		if !strings.HasPrefix(s, "acme-") {
			t.Errorf("secret %q lacks the custom prefix", s)
		}
		_, err = svc.Authenticate(t.Context(), s, patkit.AuthRequest{})
		wantErr(t, err, nil, "")
	})
	t.Run("revoked", func(t *testing.T) {
		tok, s := w.pat(t, 2)
		wantErr(t, w.svc.RevokeToken(t.Context(), w.alice, tok.ID), nil, "")
		_, err := w.svc.Authenticate(t.Context(), s, patkit.AuthRequest{})
		wantErr(t, err, patkit.ErrTokenRevoked, "")
	})
	t.Run("expired wins over revoked", func(t *testing.T) {
		tok, s, err := w.svc.CreateToken(t.Context(), w.root, 2, patkit.TokenOptions{Name: "old", Scopes: []patkit.Scope{"api"}, ExpiresAt: date(2026, 1, 1)})
		wantErr(t, err, nil, "")
		wantErr(t, w.svc.RevokeToken(t.Context(), w.root, tok.ID), nil, "")
		_, err = w.svc.Authenticate(t.Context(), s, patkit.AuthRequest{})
		wantErr(t, err, patkit.ErrTokenExpired, "")
	})
	t.Run("blocked user", func(t *testing.T) {
		_, s := w.pat(t, 4)
		_, err := w.svc.Authenticate(t.Context(), s, patkit.AuthRequest{})
		wantErr(t, err, patkit.ErrForbidden, "Your account has been blocked.")
	})
	t.Run("owner gone", func(t *testing.T) {
		w.dir.AddUser(patkit.User{ID: 50, Username: "gone"})
		_, s := w.pat(t, 50)
		other := new(patkit.MemDirectory)
		svc, _ := patkit.New(w.store, other, testKey, &patkit.Options{Now: w.clock.Now})
		_, err := svc.Authenticate(t.Context(), s, patkit.AuthRequest{})
		wantErr(t, err, patkit.ErrUnauthorized, "")
	})
}

func TestImpersonationDisabled(t *testing.T) {
	w := newWorld(t, &patkit.Options{ImpersonationDisabled: true})
	_, s, err := w.svc.CreateImpersonationToken(t.Context(), w.root, 2, patkit.TokenOptions{Name: "imp", Scopes: []patkit.Scope{"api"}, ExpiresAt: date(2026, 6, 1)})
	wantErr(t, err, nil, "")
	_, err = w.svc.Authenticate(t.Context(), s, patkit.AuthRequest{})
	wantErr(t, err, patkit.ErrImpersonationDisabled, "")
	_, s = w.pat(t, 2)
	_, err = w.svc.Authenticate(t.Context(), s, patkit.AuthRequest{})
	wantErr(t, err, nil, "")
}

func TestAdminMode(t *testing.T) {
	for _, mode := range []bool{false, true} {
		w := newWorld(t, &patkit.Options{AdminMode: mode})
		_, plain := w.pat(t, 1, patkit.ScopeAPI)
		_, withMode := w.pat(t, 1, patkit.ScopeAPI, patkit.ScopeAdminMode)
		if got := w.login(t, plain).Admin(); got != !mode {
			t.Errorf("admin mode %v: token without admin_mode acts as admin = %v", mode, got)
		}
		if !w.login(t, withMode).Admin() {
			t.Errorf("admin mode %v: token with admin_mode is not admin", mode)
		}
		// Outside admin mode an administrator sees only their own tokens.
		w.pat(t, 2)
		page, err := w.svc.ListTokens(t.Context(), w.login(t, plain), patkit.Filter{})
		wantErr(t, err, nil, "")
		want := 3
		if mode {
			want = 2
		}
		if page.Total != want {
			t.Errorf("admin mode %v: list total = %d, want %d", mode, page.Total, want)
		}
	}
}

func TestExpiryBoundaryAtMidnightUTC(t *testing.T) {
	w := newWorld(t, nil)
	_, s, err := w.svc.CreateToken(t.Context(), w.root, 2, patkit.TokenOptions{Name: "d", Scopes: []patkit.Scope{"api"}, ExpiresAt: date(2026, 3, 12)})
	wantErr(t, err, nil, "")
	w.clock.Set(date(2026, 3, 12).Add(-time.Nanosecond))
	if _, err := w.svc.Authenticate(t.Context(), s, patkit.AuthRequest{}); err != nil {
		t.Fatalf("one nanosecond before midnight: %v", err)
	}
	w.clock.Set(date(2026, 3, 12))
	_, err = w.svc.Authenticate(t.Context(), s, patkit.AuthRequest{})
	wantErr(t, err, patkit.ErrTokenExpired, "")
	// A clock in another zone changes nothing: 20:00 in UTC-5 is 01:00 UTC.
	w.clock.Set(time.Date(2026, 3, 11, 20, 0, 0, 0, time.FixedZone("EST", -5*3600)))
	_, err = w.svc.Authenticate(t.Context(), s, patkit.AuthRequest{})
	wantErr(t, err, patkit.ErrTokenExpired, "")
}

func TestRotate(t *testing.T) {
	w := newWorld(t, nil)
	old, oldSecret, err := w.svc.CreateToken(t.Context(), w.root, 2, patkit.TokenOptions{Name: "ci", Description: "deploys", Scopes: []patkit.Scope{"api", "read_repository"}})
	wantErr(t, err, nil, "")
	w.clock.Add(time.Hour)
	w.login(t, oldSecret) // gives the old token a last use

	next, secret, err := w.svc.RotateToken(t.Context(), w.alice, old.ID, time.Time{})
	wantErr(t, err, nil, "")
	want := &patkit.Token{
		ID: next.ID, UserID: 2, Name: "ci", Description: "deploys",
		Scopes:    []patkit.Scope{"api", "read_repository"},
		CreatedAt: t0.Add(time.Hour), ExpiresAt: date(2026, 3, 17), PreviousID: old.ID,
	}
	got := w.get(t, next.ID)
	got.Digest = nil
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rotated token (-want +got):\n%s", diff)
	}
	if next.ID == old.ID || secret == oldSecret {
		t.Error("rotation reused the ID or the secret")
	}
	if !w.get(t, old.ID).Revoked {
		t.Error("old token not revoked")
	}
	w.login(t, secret)
	_, err = w.svc.Authenticate(t.Context(), oldSecret, patkit.AuthRequest{})
	wantErr(t, err, patkit.ErrTokenRevoked, "")

	_, _, err = w.svc.RotateToken(t.Context(), w.alice, old.ID, time.Time{})
	wantErr(t, err, patkit.ErrBadRequest, "Token already revoked")

	t.Run("explicit expiry", func(t *testing.T) {
		n, _, err := w.svc.RotateToken(t.Context(), w.alice, next.ID, date(2026, 12, 1))
		wantErr(t, err, nil, "")
		if !n.ExpiresAt.Equal(date(2026, 12, 1)) {
			t.Errorf("ExpiresAt = %v", n.ExpiresAt)
		}
		before := w.store.writes.Load()
		_, _, err = w.svc.RotateToken(t.Context(), w.alice, n.ID, date(2027, 3, 11))
		wantErr(t, err, patkit.ErrInvalid, "Expiration date must be before 2027-03-10")
		if w.store.writes.Load() != before || w.get(t, n.ID).Revoked {
			t.Error("failed rotation changed the store")
		}
	})
	t.Run("a time of 0001-01-01", func(t *testing.T) {
		for _, opts := range []*patkit.Options{nil, {AllowNoExpiry: true}} {
			w := newWorld(t, opts)
			tok, _ := w.pat(t, 2)
			before := w.store.writes.Load()
			for _, at := range []time.Time{time.Date(1, 1, 1, 23, 0, 0, 0, time.UTC), date(300000, 1, 1), date(-290000, 1, 1)} {
				_, _, err := w.svc.RotateToken(t.Context(), w.alice, tok.ID, at)
				wantErr(t, err, patkit.ErrInvalid, "Expiration date is invalid")
			}
			if w.store.writes.Load() != before || w.get(t, tok.ID).Revoked {
				t.Error("failed rotation changed the store")
			}
		}
	})
	t.Run("rotation days capped by maximum lifetime", func(t *testing.T) {
		w := newWorld(t, &patkit.Options{MaxLifetimeDays: 3})
		tok, _ := w.pat(t, 2)
		n, _, err := w.svc.RotateToken(t.Context(), w.alice, tok.ID, time.Time{})
		wantErr(t, err, nil, "")
		if !n.ExpiresAt.Equal(date(2026, 3, 13)) {
			t.Errorf("ExpiresAt = %v, want 2026-03-13", n.ExpiresAt)
		}
	})
	t.Run("no expiry when optional", func(t *testing.T) {
		w := newWorld(t, &patkit.Options{AllowNoExpiry: true})
		tok, _ := w.pat(t, 2)
		n, _, err := w.svc.RotateToken(t.Context(), w.alice, tok.ID, time.Time{})
		wantErr(t, err, nil, "")
		if !n.ExpiresAt.IsZero() {
			t.Errorf("ExpiresAt = %v, want none", n.ExpiresAt)
		}
	})
	t.Run("expired target rotates", func(t *testing.T) {
		tok, _, err := w.svc.CreateToken(t.Context(), w.root, 2, patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{"api"}, ExpiresAt: date(2025, 1, 1)})
		wantErr(t, err, nil, "")
		_, _, err = w.svc.RotateToken(t.Context(), w.alice, tok.ID, time.Time{})
		wantErr(t, err, nil, "")
	})
	t.Run("self", func(t *testing.T) {
		_, s := w.pat(t, 3, patkit.ScopeSelfRotate)
		p := w.login(t, s)
		n, s2, err := w.svc.RotateSelf(t.Context(), p, time.Time{})
		wantErr(t, err, nil, "")
		if n.UserID != 3 || n.PreviousID != p.Token().ID {
			t.Errorf("rotated %+v", n)
		}
		w.login(t, s2)
		_, _, err = w.svc.RotateSelf(t.Context(), p, time.Time{})
		wantErr(t, err, patkit.ErrBadRequest, "Token already revoked")
		_, _, err = w.svc.RotateSelf(t.Context(), w.bob, time.Time{})
		wantErr(t, err, patkit.ErrNotAllowed, "")
	})
}

func TestConcurrentRotationHasOneWinner(t *testing.T) {
	w := newWorld(t, nil)
	tok, _ := w.pat(t, 2)
	var wg sync.WaitGroup
	errs := make([]error, 50)
	for i := range errs {
		wg.Go(func() { _, _, errs[i] = w.svc.RotateToken(t.Context(), w.alice, tok.ID, time.Time{}) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			wantErr(t, err, patkit.ErrBadRequest, "Token already revoked")
		}
	}
	if won != 1 {
		t.Errorf("%d rotations won, want 1", won)
	}
}

func TestFamilyRevocation(t *testing.T) {
	w := newWorld(t, nil)
	a, sa := w.pat(t, 2)
	_, sb, err := w.svc.RotateToken(t.Context(), w.alice, a.ID, time.Time{})
	wantErr(t, err, nil, "")
	b := w.login(t, sb).Token()
	c, sc, err := w.svc.RotateSelf(t.Context(), w.login(t, sb), time.Time{})
	wantErr(t, err, nil, "")
	unrelated, su := w.pat(t, 2)

	// Reuse on a path that is not a rotation changes nothing.
	_, err = w.svc.Authenticate(t.Context(), sa, patkit.AuthRequest{})
	wantErr(t, err, patkit.ErrTokenRevoked, "")
	w.login(t, sc)

	// Rotating by ID a revoked token does not revoke the family either.
	_, _, err = w.svc.RotateToken(t.Context(), w.alice, a.ID, time.Time{})
	wantErr(t, err, patkit.ErrBadRequest, "Token already revoked")
	w.login(t, sc)

	// Reusing the first token on a rotation path revokes every descendant.
	_, err = w.svc.Authenticate(t.Context(), sa, patkit.AuthRequest{Rotate: true})
	wantErr(t, err, patkit.ErrTokenRevoked, "")
	for _, id := range []int64{a.ID, b.ID, c.ID} {
		if !w.get(t, id).Revoked {
			t.Errorf("token %d of the family not revoked", id)
		}
	}
	_, err = w.svc.Authenticate(t.Context(), sc, patkit.AuthRequest{})
	wantErr(t, err, patkit.ErrTokenRevoked, "")
	if w.get(t, unrelated.ID).Revoked {
		t.Error("unrelated token revoked")
	}
	w.login(t, su)
}

func TestFamilyRevocationSparesAncestors(t *testing.T) {
	w := newWorld(t, nil)
	a, _ := w.pat(t, 2)
	b, _, _ := w.svc.RotateToken(t.Context(), w.alice, a.ID, time.Time{})
	// b is revoked by hand; a rotation-path reuse of b must not touch its
	// ancestor a (already revoked) nor fail.
	c, sc, _ := w.svc.RotateToken(t.Context(), w.alice, b.ID, time.Time{})
	wantErr(t, w.svc.RevokeToken(t.Context(), w.alice, c.ID), nil, "")
	_, err := w.svc.Authenticate(t.Context(), sc, patkit.AuthRequest{Rotate: true})
	wantErr(t, err, patkit.ErrTokenRevoked, "")
	if !w.get(t, a.ID).Revoked || !w.get(t, b.ID).Revoked {
		t.Error("ancestors should stay revoked")
	}
}

func TestLastUsed(t *testing.T) {
	w := newWorld(t, nil)
	tok, s := w.pat(t, 2)
	auth := func(ip string) {
		t.Helper()
		if _, err := w.svc.Authenticate(t.Context(), s, patkit.AuthRequest{RemoteIP: ip}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(at time.Time, ips ...string) {
		t.Helper()
		got := w.get(t, tok.ID)
		if !got.LastUsedAt.Equal(at) {
			t.Errorf("LastUsedAt = %v, want %v", got.LastUsedAt, at)
		}
		if diff := cmp.Diff(ips, got.LastUsedIPs); diff != "" {
			t.Errorf("LastUsedIPs (-want +got):\n%s", diff)
		}
	}
	writes := func() int64 { return w.store.setLastUsed.Load() }

	auth("10.0.0.1")
	check(t0, "10.0.0.1")
	if writes() != 1 {
		t.Fatalf("%d writes after first use", writes())
	}
	// Within 10 minutes and from a known address: no write at all.
	for range 100 {
		w.clock.Add(time.Second)
		auth("10.0.0.1")
	}
	if writes() != 1 {
		t.Errorf("%d writes for 100 throttled uses, want 1", writes())
	}
	// A new address within a minute of the last recorded use is not
	// recorded... (last use recorded at t0, now t0+100s, so it is.)
	w.clock.Set(t0.Add(30 * time.Second))
	auth("10.0.0.2")
	check(t0, "10.0.0.1")
	w.clock.Set(t0.Add(61 * time.Second))
	auth("10.0.0.2")
	check(t0, "10.0.0.1", "10.0.0.2")
	// After 10 minutes last_used_at moves.
	w.clock.Set(t0.Add(10 * time.Minute))
	auth("10.0.0.2")
	check(t0.Add(10*time.Minute), "10.0.0.1", "10.0.0.2")
	// Only the five newest addresses are kept.
	for i := 3; i <= 7; i++ {
		w.clock.Add(2 * time.Minute)
		auth(fmt.Sprintf("10.0.0.%d", i))
	}
	check(t0.Add(20*time.Minute), "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7")

	// A failing bookkeeping write does not refuse the token.
	w.store.failSetLastUsed = true
	w.clock.Add(time.Hour)
	auth("10.0.0.9")
}

func TestLastUsedConcurrentUsesCoalesce(t *testing.T) {
	w := newWorld(t, nil)
	_, s := w.pat(t, 2)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := w.svc.Authenticate(t.Context(), s, patkit.AuthRequest{RemoteIP: "10.0.0.1"}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := w.store.setLastUsed.Load(); n != 1 {
		t.Errorf("%d last-used writes, want 1", n)
	}
}

// TestLastUsedOnceAfterStaleRead: a request that read a token before
// another request's last-used write committed must not write it again,
// with the cache or without it (or after the cache dropped the token).
func TestLastUsedOnceAfterStaleRead(t *testing.T) {
	for _, size := range []int{0, -1} {
		t.Run(fmt.Sprintf("CacheSize=%d", size), func(t *testing.T) {
			w := newWorld(t, &patkit.Options{CacheSize: size})
			_, secret := w.pat(t, 2)
			read, written := make(chan struct{}), make(chan struct{})
			var calls atomic.Int64
			w.store.afterGetByDigest = func() {
				if calls.Add(1) == 1 { // the stale reader
					close(read)
					<-written
				}
			}
			req := patkit.AuthRequest{RemoteIP: "10.0.0.1"}
			stale := make(chan error)
			go func() {
				_, err := w.svc.Authenticate(t.Context(), secret, req)
				stale <- err
			}()
			<-read
			if _, err := w.svc.Authenticate(t.Context(), secret, req); err != nil {
				t.Fatal(err)
			}
			if n := w.store.setLastUsed.Load(); n != 1 {
				t.Fatalf("%d last-used writes after the first use, want 1", n)
			}
			close(written)
			if err := <-stale; err != nil {
				t.Fatal(err)
			}
			if n := w.store.setLastUsed.Load(); n != 1 {
				t.Errorf("%d last-used writes, want 1: the stale read wrote again", n)
			}
		})
	}
}

func TestSudo(t *testing.T) {
	w := newWorld(t, nil)
	_, sudoSecret := w.pat(t, 1, patkit.ScopeAPI, patkit.ScopeSudo)
	_, apiSecret := w.pat(t, 1, patkit.ScopeAPI)
	_, aliceSecret := w.pat(t, 2)
	admin := w.login(t, sudoSecret)

	p, err := w.svc.Sudo(t.Context(), admin, "ALICE")
	wantErr(t, err, nil, "")
	if p.User().ID != 2 || p.Admin() || p.Sudoer().ID != 1 || p.Token().UserID != 1 {
		t.Errorf("sudo principal %+v", p)
	}
	p, err = w.svc.Sudo(t.Context(), admin, "3")
	wantErr(t, err, nil, "")
	if p.User().ID != 3 {
		t.Errorf("sudo by id gave user %d", p.User().ID)
	}
	// Acting as alice, root sees alice's tokens only.
	p, _ = w.svc.Sudo(t.Context(), admin, "alice")
	page, err := w.svc.ListTokens(t.Context(), p, patkit.Filter{})
	wantErr(t, err, nil, "")
	if page.Total != 1 || page.Tokens[0].UserID != 2 {
		t.Errorf("list as alice: %+v", page)
	}

	_, err = w.svc.Sudo(t.Context(), admin, "nobody")
	wantErr(t, err, patkit.ErrNotFound, "User with ID or username 'nobody' Not Found")
	_, err = w.svc.Sudo(t.Context(), w.login(t, aliceSecret), "root")
	wantErr(t, err, patkit.ErrForbidden, "Must be admin to use sudo")
	_, err = w.svc.Sudo(t.Context(), w.root, "alice")
	wantErr(t, err, patkit.ErrForbidden, "Must be authenticated using an OAuth or personal access token to use sudo")
	_, err = w.svc.Sudo(t.Context(), w.login(t, apiSecret), "alice")
	wantErr(t, err, patkit.ErrInsufficientScope, "")
	_, err = w.svc.Sudo(t.Context(), nil, "alice")
	wantErr(t, err, patkit.ErrUnauthorized, "")
}

func TestListTokens(t *testing.T) {
	w := newWorld(t, nil)
	for range 3 {
		w.pat(t, 2)
	}
	w.pat(t, 3)
	_, _, err := w.svc.CreateImpersonationToken(t.Context(), w.root, 2, patkit.TokenOptions{Name: "imp", Scopes: []patkit.Scope{"api"}, ExpiresAt: date(2026, 6, 1)})
	wantErr(t, err, nil, "")
	w.resourceToken(t, patkit.ResourceProject, "1", patkit.Developer)

	all := int64(-1) // no user_id: ListTokens
	tests := []struct {
		name   string
		p      *patkit.Principal
		userID int64
		f      patkit.Filter
		total  int
		code   error
		msg    string
	}{
		{"admin sees all", w.root, all, patkit.Filter{}, 6, nil, ""},
		{"admin filters by user, impersonation included", w.root, 2, patkit.Filter{}, 4, nil, ""},
		{"admin, missing user", w.root, 99, patkit.Filter{}, 0, patkit.ErrNotFound, "Not Found"},
		{"admin, user 0 is no user", w.root, 0, patkit.Filter{}, 0, patkit.ErrNotFound, "Not Found"},
		{"user sees own non-impersonation tokens", w.alice, all, patkit.Filter{}, 3, nil, ""},
		{"user names themself", w.alice, 2, patkit.Filter{}, 3, nil, ""},
		{"user names another", w.alice, 3, patkit.Filter{}, 0, patkit.ErrUnauthorized, ""},
		{"user names a missing user", w.alice, 99, patkit.Filter{}, 0, patkit.ErrUnauthorized, ""},
		{"bad state", w.alice, all, patkit.Filter{State: "gone"}, 0, patkit.ErrInvalid, "State does not have a valid value"},
		{"unknown sort ignored", w.alice, all, patkit.Filter{Sort: "size_desc"}, 3, nil, ""},
		{"anonymous", nil, all, patkit.Filter{}, 0, patkit.ErrUnauthorized, ""},
		{"anonymous names a user", nil, 2, patkit.Filter{}, 0, patkit.ErrUnauthorized, ""},
		{"page 2 of 2", w.root, all, patkit.Filter{Page: 2, PerPage: 4}, 6, nil, ""},
		{"huge page is empty", w.root, all, patkit.Filter{Page: math.MaxInt64 / 10}, 6, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var page *patkit.Page
			var err error
			if tt.userID == all {
				page, err = w.svc.ListTokens(t.Context(), tt.p, tt.f)
			} else {
				page, err = w.svc.ListUserTokens(t.Context(), tt.p, tt.userID, tt.f)
			}
			wantErr(t, err, tt.code, tt.msg)
			if err != nil {
				return
			}
			if page.Total != tt.total {
				t.Errorf("Total = %d, want %d", page.Total, tt.total)
			}
			if tt.f.Page > 2 && len(page.Tokens) != 0 {
				t.Errorf("page %d has %d tokens, want none", page.Page, len(page.Tokens))
			}
			if tt.p == w.alice {
				for _, tok := range page.Tokens {
					if tok.UserID != 2 || tok.Impersonation {
						t.Errorf("alice sees %+v", tok)
					}
				}
			}
		})
	}
	page, _ := w.svc.ListTokens(t.Context(), w.root, patkit.Filter{Page: 2, PerPage: 4})
	if len(page.Tokens) != 2 || page.TotalPages() != 2 || page.HasNext() || page.Page != 2 || page.PerPage != 4 {
		t.Errorf("page 2: %d tokens, %d pages, next %v", len(page.Tokens), page.TotalPages(), page.HasNext())
	}
	page, _ = w.svc.ListTokens(t.Context(), w.root, patkit.Filter{PerPage: 1000})
	if page.PerPage != 100 || page.Page != 1 {
		t.Errorf("per_page 1000 normalized to %d, page %d", page.PerPage, page.Page)
	}
}

func TestPageArithmetic(t *testing.T) {
	for _, tt := range []struct {
		total, page, per, n int
		pages               int
		next                bool
	}{
		{0, 1, 20, 0, 1, false},
		{20, 1, 20, 20, 1, false},
		{21, 1, 20, 20, 2, true},
		{-1, 3, 20, 20, -1, true},
		{-1, 3, 20, 5, -1, false},
	} {
		p := &patkit.Page{Total: tt.total, Page: tt.page, PerPage: tt.per, Tokens: make([]*patkit.Token, tt.n)}
		if p.TotalPages() != tt.pages || p.HasNext() != tt.next {
			t.Errorf("%+v: pages %d next %v", tt, p.TotalPages(), p.HasNext())
		}
	}
}

// TestPersonalTokenMatrix covers the personal-access-token rows of GitLab's permission table
// for every kind of caller, at the Service level (the HTTP layer adds 401
// for no credentials and 403 for scopes).
func TestPersonalTokenMatrix(t *testing.T) {
	type op func(w *world, p *patkit.Principal, aliceTok, aliceImp *patkit.Token) error
	get := func(w *world, p *patkit.Principal, tok, _ *patkit.Token) error {
		_, err := w.svc.Token(t.Context(), p, tok.ID)
		return err
	}
	getMissing := func(w *world, p *patkit.Principal, _, _ *patkit.Token) error {
		_, err := w.svc.Token(t.Context(), p, 999)
		return err
	}
	revoke := func(w *world, p *patkit.Principal, tok, _ *patkit.Token) error {
		return w.svc.RevokeToken(t.Context(), p, tok.ID)
	}
	revokeImp := func(w *world, p *patkit.Principal, _, imp *patkit.Token) error {
		return w.svc.RevokeToken(t.Context(), p, imp.ID)
	}
	revokeMissing := func(w *world, p *patkit.Principal, _, _ *patkit.Token) error {
		return w.svc.RevokeToken(t.Context(), p, 999)
	}
	rotate := func(w *world, p *patkit.Principal, tok, _ *patkit.Token) error {
		_, _, err := w.svc.RotateToken(t.Context(), p, tok.ID, time.Time{})
		return err
	}
	rotateMissing := func(w *world, p *patkit.Principal, _, _ *patkit.Token) error {
		_, _, err := w.svc.RotateToken(t.Context(), p, 999, time.Time{})
		return err
	}
	createFor := func(w *world, p *patkit.Principal, _, _ *patkit.Token) error {
		_, _, err := w.svc.CreateToken(t.Context(), p, 2, patkit.TokenOptions{Name: "n", Scopes: []patkit.Scope{"api"}})
		return err
	}
	createForMissing := func(w *world, p *patkit.Principal, _, _ *patkit.Token) error {
		_, _, err := w.svc.CreateToken(t.Context(), p, 999, patkit.TokenOptions{Name: "n", Scopes: []patkit.Scope{"api"}})
		return err
	}
	type caller int
	const (
		root caller = iota
		alice
		bob
		carol // blocked
	)
	tests := []struct {
		name string
		op   op
		who  caller
		code error
		msg  string
	}{
		{"get: owner", get, alice, nil, ""},
		{"get: admin", get, root, nil, ""},
		{"get: other user", get, bob, patkit.ErrUnauthorized, ""},
		{"get: blocked", get, carol, patkit.ErrUnauthorized, ""},
		{"get missing: admin", getMissing, root, patkit.ErrNotFound, "Not Found"},
		{"get missing: user", getMissing, alice, patkit.ErrUnauthorized, ""},
		{"revoke: owner", revoke, alice, nil, ""},
		{"revoke: admin", revoke, root, nil, ""},
		{"revoke: other user", revoke, bob, patkit.ErrBadRequest, "Not permitted to revoke"},
		{"revoke: blocked", revoke, carol, patkit.ErrBadRequest, "Not permitted to revoke"},
		{"revoke impersonation: owner", revokeImp, alice, patkit.ErrBadRequest, "Not permitted to revoke"},
		{"revoke impersonation: admin", revokeImp, root, nil, ""},
		{"revoke missing: admin", revokeMissing, root, patkit.ErrNotFound, "Not found"},
		{"revoke missing: user", revokeMissing, bob, patkit.ErrNotFound, "Not found"},
		{"rotate: owner", rotate, alice, nil, ""},
		{"rotate: admin", rotate, root, nil, ""},
		{"rotate: other user", rotate, bob, patkit.ErrUnauthorized, ""},
		{"rotate missing: admin", rotateMissing, root, patkit.ErrNotFound, "Not Found"},
		{"rotate missing: user", rotateMissing, alice, patkit.ErrUnauthorized, ""},
		{"create for user: admin", createFor, root, nil, ""},
		{"create for user: user", createFor, alice, patkit.ErrForbidden, ""},
		{"create for missing user: admin", createForMissing, root, patkit.ErrNotFound, "User Not Found"},
		{"create for missing user: user", createForMissing, bob, patkit.ErrForbidden, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, nil)
			tok, _ := w.pat(t, 2)
			imp, _, err := w.svc.CreateImpersonationToken(t.Context(), w.root, 2, patkit.TokenOptions{Name: "imp", Scopes: []patkit.Scope{"api"}, ExpiresAt: date(2026, 6, 1)})
			wantErr(t, err, nil, "")
			p := []*patkit.Principal{w.root, w.alice, w.bob, w.carol}[tt.who]
			before := w.store.writes.Load()
			err = tt.op(w, p, tok, imp)
			wantErr(t, err, tt.code, tt.msg)
			if err != nil && w.store.writes.Load() != before {
				t.Error("a refused operation wrote to the store")
			}
		})
	}
}

func TestRevokeSelf(t *testing.T) {
	w := newWorld(t, nil)
	_, s := w.pat(t, 2, patkit.ScopeReadUser)
	p := w.login(t, s)
	wantErr(t, w.svc.RevokeSelf(t.Context(), p), nil, "")
	_, err := w.svc.Authenticate(t.Context(), s, patkit.AuthRequest{})
	wantErr(t, err, patkit.ErrTokenRevoked, "")
	wantErr(t, w.svc.RevokeSelf(t.Context(), w.alice), patkit.ErrBadRequest, "This endpoint requires token type to be a personal access token")

	// A user's impersonation token cannot revoke itself; an admin's can.
	for _, tc := range []struct {
		user int64
		code error
	}{{2, patkit.ErrBadRequest}, {1, nil}} {
		_, s, err := w.svc.CreateImpersonationToken(t.Context(), w.root, tc.user, patkit.TokenOptions{Name: "imp", Scopes: []patkit.Scope{"api"}, ExpiresAt: date(2026, 6, 1)})
		wantErr(t, err, nil, "")
		wantErr(t, w.svc.RevokeSelf(t.Context(), w.login(t, s)), tc.code, "")
	}
}

func TestImpersonationTokens(t *testing.T) {
	w := newWorld(t, nil)
	opts := patkit.TokenOptions{Name: "imp", Scopes: []patkit.Scope{"api", "read_user"}, ExpiresAt: date(2026, 6, 1)}
	imp, s, err := w.svc.CreateImpersonationToken(t.Context(), w.root, 2, opts)
	wantErr(t, err, nil, "")
	if !imp.Impersonation || imp.UserID != 2 {
		t.Errorf("token %+v", imp)
	}
	if p := w.login(t, s); p.User().ID != 2 || p.Admin() {
		t.Errorf("impersonation principal %+v", p)
	}
	pat, _ := w.pat(t, 2)
	bobImp, _, _ := w.svc.CreateImpersonationToken(t.Context(), w.root, 3, opts)

	page, err := w.svc.ListImpersonationTokens(t.Context(), w.root, 2, patkit.Filter{})
	wantErr(t, err, nil, "")
	if page.Total != 1 || page.Tokens[0].ID != imp.ID {
		t.Errorf("list: %+v", page)
	}
	_, err = w.svc.ImpersonationToken(t.Context(), w.root, 2, imp.ID)
	wantErr(t, err, nil, "")
	for _, id := range []int64{pat.ID, bobImp.ID, 999} {
		_, err = w.svc.ImpersonationToken(t.Context(), w.root, 2, id)
		wantErr(t, err, patkit.ErrNotFound, "Impersonation Token Not Found")
		wantErr(t, w.svc.RevokeImpersonationToken(t.Context(), w.root, 2, id), patkit.ErrNotFound, "Impersonation Token Not Found")
	}

	// Administrators only, checked before the user lookup.
	_, err = w.svc.ListImpersonationTokens(t.Context(), w.alice, 99, patkit.Filter{})
	wantErr(t, err, patkit.ErrForbidden, "")
	_, err = w.svc.ImpersonationToken(t.Context(), w.alice, 2, imp.ID)
	wantErr(t, err, patkit.ErrForbidden, "")
	_, _, err = w.svc.CreateImpersonationToken(t.Context(), w.alice, 2, opts)
	wantErr(t, err, patkit.ErrForbidden, "")
	wantErr(t, w.svc.RevokeImpersonationToken(t.Context(), w.alice, 2, imp.ID), patkit.ErrForbidden, "")
	_, err = w.svc.ListImpersonationTokens(t.Context(), w.root, 99, patkit.Filter{})
	wantErr(t, err, patkit.ErrNotFound, "User Not Found")

	// No default expiry: omitting it fails while expiry is required.
	_, _, err = w.svc.CreateImpersonationToken(t.Context(), w.root, 2, patkit.TokenOptions{Name: "imp", Scopes: []patkit.Scope{"api"}})
	wantErr(t, err, patkit.ErrInvalid, "Expiration date can't be blank")
	// Past dates are accepted: the token is born inactive.
	old, _, err := w.svc.CreateImpersonationToken(t.Context(), w.root, 2, patkit.TokenOptions{Name: "imp", Scopes: []patkit.Scope{"api"}, ExpiresAt: date(2020, 1, 1)})
	wantErr(t, err, nil, "")
	if old.Active(w.clock.Now()) {
		t.Error("past-dated token is active")
	}
	page, _ = w.svc.ListImpersonationTokens(t.Context(), w.root, 2, patkit.Filter{State: patkit.StateActive})
	if page.Total != 1 {
		t.Errorf("active impersonation tokens: %d, want 1", page.Total)
	}

	wantErr(t, w.svc.RevokeImpersonationToken(t.Context(), w.root, 2, imp.ID), nil, "")
	wantErr(t, w.svc.RevokeImpersonationToken(t.Context(), w.root, 2, imp.ID), nil, "")
	_, err = w.svc.Authenticate(t.Context(), s, patkit.AuthRequest{})
	wantErr(t, err, patkit.ErrTokenRevoked, "")
}

func TestResourceTokens(t *testing.T) {
	w := newWorld(t, nil)
	ctx := t.Context()
	project, group := patkit.ResourceProject, patkit.ResourceGroup

	tok, secret, err := w.svc.CreateResourceToken(ctx, w.alice, project, "acme/widgets", patkit.TokenOptions{Name: "deploy", Scopes: []patkit.Scope{"read_repository"}})
	wantErr(t, err, nil, "")
	if tok.ResourceType != project || tok.ResourceID != 1 || tok.AccessLevel != patkit.Maintainer || !tok.ExpiresAt.Equal(date(2027, 3, 10)) {
		t.Errorf("token %+v", tok)
	}
	bot, err := w.dir.UserByID(ctx, tok.UserID)
	wantErr(t, err, nil, "")
	if !bot.Bot || bot.Name != "deploy" || !strings.HasPrefix(bot.Username, "project_1_bot_") {
		t.Errorf("bot %+v", bot)
	}
	if lvl, _ := w.dir.AccessLevel(ctx, bot.ID, &patkit.Resource{Type: project, ID: 1}); lvl != patkit.Maintainer {
		t.Errorf("bot level %d", lvl)
	}
	botP := w.login(t, secret)
	if !botP.User().Bot {
		t.Error("bot principal is not a bot")
	}

	t.Run("create refusals", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			p    *patkit.Principal
			typ  patkit.ResourceType
			ref  string
			o    patkit.TokenOptions
			code error
			msg  string
		}{
			{"developer", w.bob, project, "1", patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{"api"}}, patkit.ErrBadRequest, "User does not have permission to create project access token"},
			{"group maintainer-level reporter", w.bob, group, "acme", patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{"api"}}, patkit.ErrBadRequest, "User does not have permission to create group access token"},
			{"bot", botP, project, "1", patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{"api"}}, patkit.ErrBadRequest, "User does not have permission to create project access token"},
			{"creation disabled", w.alice, project, "acme/locked", patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{"api"}}, patkit.ErrBadRequest, "User does not have permission to create project access token"},
			{"owner level by maintainer", w.alice, project, "1", patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{"api"}, AccessLevel: patkit.Owner}, patkit.ErrBadRequest, "Could not provision owner access to project access token"},
			{"invalid level", w.alice, project, "1", patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{"api"}, AccessLevel: 25}, patkit.ErrInvalid, "Access level does not have a valid value"},
			{"read_user scope", w.alice, project, "1", patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{"read_user"}}, patkit.ErrInvalid, "Scopes can only contain available scopes"},
			{"sudo scope", w.root, group, "1", patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{"sudo"}}, patkit.ErrInvalid, "Scopes can only contain available scopes"},
			{"too far", w.alice, project, "1", patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{"api"}, ExpiresAt: date(2028, 1, 1)}, patkit.ErrInvalid, "Expiration date must be before 2027-03-10"},
			{"missing project", w.alice, project, "acme/nope", patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{"api"}}, patkit.ErrNotFound, "Project Not Found"},
			{"missing group", w.alice, group, "7", patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{"api"}}, patkit.ErrNotFound, "Group Not Found"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := w.store.writes.Load()
				_, _, err := w.svc.CreateResourceToken(ctx, tc.p, tc.typ, tc.ref, tc.o)
				wantErr(t, err, tc.code, tc.msg)
				if w.store.writes.Load() != before {
					t.Error("refused create wrote to the store")
				}
				if _, err := w.dir.UserByID(ctx, tok.UserID+1); err == nil {
					t.Error("refused create left a bot user behind")
				}
			})
		}
	})

	t.Run("group owner and level rules", func(t *testing.T) {
		g, _, err := w.svc.CreateResourceToken(ctx, w.alice, group, "1", patkit.TokenOptions{Name: "g", Scopes: []patkit.Scope{"api"}, AccessLevel: patkit.Owner})
		wantErr(t, err, nil, "")
		if !strings.HasPrefix(mustUser(t, w, g.UserID).Username, "group_1_bot_") {
			t.Error("group bot username")
		}
		// A maintainer cannot hand out more than they hold.
		w.dir.AddUser(patkit.User{ID: 20, Username: "dave", Name: "Dave"})
		w.dir.SetAccess(project, 1, 20, patkit.Maintainer)
		dave := w.principal(t, 20)
		_, _, err = w.svc.CreateResourceToken(ctx, dave, project, "1", patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{"api"}, AccessLevel: patkit.Maintainer})
		wantErr(t, err, nil, "")
		// The project's owner can give Owner.
		w.dir.SetAccess(project, 1, 20, patkit.Owner)
		_, _, err = w.svc.CreateResourceToken(ctx, w.principal(t, 20), project, "1", patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{"api"}, AccessLevel: patkit.Owner})
		wantErr(t, err, nil, "")
	})

	t.Run("list and get", func(t *testing.T) {
		page, err := w.svc.ListResourceTokens(ctx, w.alice, project, "1", patkit.Filter{})
		wantErr(t, err, nil, "")
		for _, tk := range page.Tokens {
			if tk.ResourceType != project || tk.ResourceID != 1 {
				t.Errorf("foreign token listed: %+v", tk)
			}
		}
		if page.Total != 3 {
			t.Errorf("project tokens: %d, want 3", page.Total)
		}
		_, err = w.svc.ListResourceTokens(ctx, w.bob, project, "1", patkit.Filter{})
		wantErr(t, err, patkit.ErrUnauthorized, "")
		_, err = w.svc.ListResourceTokens(ctx, w.alice, group, "acme", patkit.Filter{})
		wantErr(t, err, nil, "")
		_, err = w.svc.ListResourceTokens(ctx, w.root, group, "acme", patkit.Filter{})
		wantErr(t, err, nil, "")
		_, err = w.svc.ListResourceTokens(ctx, w.bob, group, "acme", patkit.Filter{})
		wantErr(t, err, patkit.ErrUnauthorized, "")
		_, err = w.svc.ResourceToken(ctx, w.alice, project, "1", tok.ID)
		wantErr(t, err, nil, "")
		_, err = w.svc.ResourceToken(ctx, w.bob, project, "1", tok.ID)
		wantErr(t, err, patkit.ErrUnauthorized, "")
		_, err = w.svc.ResourceToken(ctx, w.alice, group, "1", tok.ID)
		wantErr(t, err, patkit.ErrNotFound, "group Access Token Not Found")
		pat, _ := w.pat(t, 2)
		_, err = w.svc.ResourceToken(ctx, w.alice, project, "1", pat.ID)
		wantErr(t, err, patkit.ErrNotFound, "project Access Token Not Found")
	})

	t.Run("rotate", func(t *testing.T) {
		_, _, err := w.svc.RotateResourceToken(ctx, w.bob, project, "1", tok.ID, time.Time{})
		wantErr(t, err, patkit.ErrUnauthorized, "")
		_, _, err = w.svc.RotateResourceToken(ctx, w.root, project, "1", 999, time.Time{})
		wantErr(t, err, patkit.ErrNotFound, "Not Found")
		_, _, err = w.svc.RotateResourceToken(ctx, w.alice, project, "1", 999, time.Time{})
		wantErr(t, err, patkit.ErrUnauthorized, "")
		// alice (Maintainer) cannot rotate an Owner-level token.
		w.dir.AddUser(patkit.User{ID: 21, Username: "erin", Name: "Erin"})
		w.dir.SetAccess(project, 1, 21, patkit.Owner)
		owned, _, err := w.svc.CreateResourceToken(ctx, w.principal(t, 21), project, "1", patkit.TokenOptions{Name: "o", Scopes: []patkit.Scope{"api"}, AccessLevel: patkit.Owner})
		wantErr(t, err, nil, "")
		_, _, err = w.svc.RotateResourceToken(ctx, w.alice, project, "1", owned.ID, time.Time{})
		wantErr(t, err, patkit.ErrBadRequest, "Not eligible to rotate tokens with permissions not held by the user")
		n, _, err := w.svc.RotateResourceToken(ctx, w.root, project, "1", owned.ID, time.Time{})
		wantErr(t, err, nil, "")
		if n.UserID != owned.UserID || n.AccessLevel != patkit.Owner || n.ResourceID != 1 || !n.ExpiresAt.Equal(date(2026, 3, 17)) {
			t.Errorf("rotated %+v", n)
		}
	})

	t.Run("self rotate", func(t *testing.T) {
		_, s := w.resourceToken(t, project, "1", patkit.Developer)
		p := w.login(t, s)
		_, _, err := w.svc.RotateResourceTokenSelf(ctx, p, group, "1", time.Time{})
		wantErr(t, err, patkit.ErrUnauthorized, "")
		_, _, err = w.svc.RotateResourceTokenSelf(ctx, p, project, "99", time.Time{})
		wantErr(t, err, patkit.ErrNotFound, "Project Not Found")
		n, _, err := w.svc.RotateResourceTokenSelf(ctx, p, project, "acme/widgets", time.Time{})
		wantErr(t, err, nil, "")
		if n.PreviousID != p.Token().ID || n.UserID != p.User().ID {
			t.Errorf("rotated %+v", n)
		}
		_, us := w.pat(t, 2)
		_, _, err = w.svc.RotateResourceTokenSelf(ctx, w.login(t, us), project, "1", time.Time{})
		wantErr(t, err, patkit.ErrNotAllowed, "")
		// A resource token also rotates itself through the personal route.
		_, s = w.resourceToken(t, group, "1", patkit.Developer)
		_, _, err = w.svc.RotateSelf(ctx, w.login(t, s), time.Time{})
		wantErr(t, err, nil, "")
	})

	t.Run("revoke", func(t *testing.T) {
		victim, _ := w.resourceToken(t, project, "1", patkit.Developer)
		wantErr(t, w.svc.RevokeResourceToken(ctx, w.bob, project, "1", 999), patkit.ErrNotFound, "project Access Token Not Found")
		wantErr(t, w.svc.RevokeResourceToken(ctx, w.bob, project, "1", victim.ID), patkit.ErrBadRequest, "Bob cannot delete bot")
		wantErr(t, w.svc.RevokeResourceToken(ctx, w.alice, group, "1", victim.ID), patkit.ErrNotFound, "group Access Token Not Found")
		wantErr(t, w.svc.RevokeResourceToken(ctx, w.alice, project, "1", victim.ID), nil, "")
		wantErr(t, w.svc.RevokeResourceToken(ctx, w.alice, project, "1", victim.ID), nil, "")
		if _, err := w.dir.UserByID(ctx, victim.UserID); err != nil {
			t.Error("bot user removed on revoke")
		}
		// A bot that lost its membership cannot be found.
		gone, _ := w.resourceToken(t, project, "1", patkit.Developer)
		w.dir.SetAccess(project, 1, gone.UserID, patkit.NoAccess)
		wantErr(t, w.svc.RevokeResourceToken(ctx, w.root, project, "1", gone.ID), patkit.ErrBadRequest, "Failed to find bot user")
	})
}

func mustUser(t *testing.T, w *world, id int64) *patkit.User {
	t.Helper()
	u, err := w.dir.UserByID(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestErrorText(t *testing.T) {
	e := &patkit.Error{Code: patkit.ErrInvalid, Fields: []patkit.FieldError{{"name", "can't be blank"}, {"expires_at", "must be before 2027-01-01"}}}
	if got, want := e.Sentence(), "Name can't be blank and Expiration date must be before 2027-01-01"; got != want {
		t.Errorf("Sentence = %q, want %q", got, want)
	}
	if !strings.Contains(e.Error(), "Name can't be blank") {
		t.Errorf("Error() = %q", e.Error())
	}
	if slices.Contains([]string{""}, (&patkit.Error{Code: patkit.ErrNotFound, Message: "User Not Found"}).Error()) {
		t.Error("empty error text")
	}
}

func TestAuthenticateScopesInGitLabOrder(t *testing.T) {
	w := newWorld(t, nil)
	post := patkit.AllowedScopes(false)
	_, s := w.pat(t, 2, patkit.ScopeReadAPI)
	_, err := w.svc.Authenticate(t.Context(), s, patkit.AuthRequest{Scopes: post, RemoteIP: "10.0.0.1"})
	wantErr(t, err, patkit.ErrInsufficientScope, "")
	// A refused request is not a use.
	if w.store.setLastUsed.Load() != 0 {
		t.Error("a request refused for its scopes recorded a use")
	}
	_, err = w.svc.Authenticate(t.Context(), s, patkit.AuthRequest{Scopes: patkit.AllowedScopes(true)})
	wantErr(t, err, nil, "")

	// Scopes come before the user's state...
	_, blocked := w.pat(t, 4, patkit.ScopeReadAPI)
	_, err = w.svc.Authenticate(t.Context(), blocked, patkit.AuthRequest{Scopes: post})
	wantErr(t, err, patkit.ErrInsufficientScope, "")
	_, err = w.svc.Authenticate(t.Context(), blocked, patkit.AuthRequest{Scopes: patkit.AllowedScopes(true)})
	wantErr(t, err, patkit.ErrForbidden, "Your account has been blocked.")
	// ...and after expiry.
	_, old, err := w.svc.CreateToken(t.Context(), w.root, 2, patkit.TokenOptions{Name: "o", Scopes: []patkit.Scope{"read_api"}, ExpiresAt: date(2026, 1, 1)})
	wantErr(t, err, nil, "")
	_, err = w.svc.Authenticate(t.Context(), old, patkit.AuthRequest{Scopes: post})
	wantErr(t, err, patkit.ErrTokenExpired, "")
}

func TestResourceTokenLevelIsLive(t *testing.T) {
	w := newWorld(t, nil)
	ctx := t.Context()
	tok, _ := w.resourceToken(t, patkit.ResourceProject, "1", patkit.Developer)
	w.dir.SetAccess(patkit.ResourceProject, 1, tok.UserID, patkit.Reporter)
	got, err := w.svc.ResourceToken(ctx, w.alice, patkit.ResourceProject, "1", tok.ID)
	wantErr(t, err, nil, "")
	if got.AccessLevel != patkit.Reporter {
		t.Errorf("get: level %d, want the bot's current %d", got.AccessLevel, patkit.Reporter)
	}
	page, err := w.svc.ListResourceTokens(ctx, w.alice, patkit.ResourceProject, "1", patkit.Filter{})
	wantErr(t, err, nil, "")
	if page.Tokens[0].AccessLevel != patkit.Reporter {
		t.Errorf("list: level %d", page.Tokens[0].AccessLevel)
	}
	// Promoted above alice's own level, the token is no longer hers to rotate.
	w.dir.SetAccess(patkit.ResourceProject, 1, tok.UserID, patkit.Owner)
	_, _, err = w.svc.RotateResourceToken(ctx, w.alice, patkit.ResourceProject, "1", tok.ID, time.Time{})
	wantErr(t, err, patkit.ErrBadRequest, "Not eligible to rotate tokens with permissions not held by the user")
	// Without membership, the stored level shows.
	w.dir.SetAccess(patkit.ResourceProject, 1, tok.UserID, patkit.NoAccess)
	got, _ = w.svc.ResourceToken(ctx, w.alice, patkit.ResourceProject, "1", tok.ID)
	if got.AccessLevel != patkit.Developer {
		t.Errorf("no membership: level %d, want stored %d", got.AccessLevel, patkit.Developer)
	}
}

// faultStore fails chosen Store methods with err.
type faultStore struct {
	patkit.Store
	err                      error
	getByDigest, rotate, get bool
}

func (s *faultStore) GetByDigest(ctx context.Context, d []byte) (*patkit.Token, error) {
	if s.getByDigest {
		return nil, s.err
	}
	return s.Store.GetByDigest(ctx, d)
}

func (s *faultStore) Rotate(ctx context.Context, id int64, t *patkit.Token) error {
	if s.rotate {
		return s.err
	}
	return s.Store.Rotate(ctx, id, t)
}

func (s *faultStore) Get(ctx context.Context, id int64) (*patkit.Token, error) {
	if s.get {
		return nil, s.err
	}
	return s.Store.Get(ctx, id)
}

func TestStoreFaults(t *testing.T) {
	w := newWorld(t, &patkit.Options{CacheSize: -1})
	tok, secret := w.pat(t, 2)
	down := fmt.Errorf("dial tcp: connection refused: %w", patkit.ErrUnavailable)
	fs := &faultStore{Store: w.store, err: down}
	svc, err := patkit.New(fs, w.dir, testKey, &patkit.Options{CacheSize: -1, Now: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()

	// An unreachable store is not an unknown token.
	fs.getByDigest = true
	_, err = svc.Authenticate(ctx, secret, patkit.AuthRequest{})
	if !errors.Is(err, patkit.ErrUnavailable) || errors.Is(err, patkit.ErrUnauthorized) {
		t.Errorf("Authenticate with the store down = %v, want ErrUnavailable", err)
	}
	fs.getByDigest = false

	// A failed rotation leaves the old token valid and creates nothing.
	fs.rotate = true
	_, _, err = svc.RotateToken(ctx, w.alice, tok.ID, time.Time{})
	if !errors.Is(err, patkit.ErrUnavailable) {
		t.Errorf("RotateToken with the store down = %v", err)
	}
	fs.rotate = false
	if _, err := svc.Authenticate(ctx, secret, patkit.AuthRequest{}); err != nil {
		t.Errorf("old token after a failed rotation: %v", err)
	}
	page, _ := svc.ListTokens(ctx, w.root, patkit.Filter{})
	if page.Total != 1 {
		t.Errorf("%d tokens after a failed rotation, want 1", page.Total)
	}

	// Lookups by ID surface the fault, not a 401 or 404.
	fs.get = true
	for name, err := range map[string]error{
		"Token":       func() error { _, err := svc.Token(ctx, w.alice, tok.ID); return err }(),
		"RevokeToken": svc.RevokeToken(ctx, w.alice, tok.ID),
		"RotateToken": func() error { _, _, err := svc.RotateToken(ctx, w.alice, tok.ID, time.Time{}); return err }(),
	} {
		if !errors.Is(err, patkit.ErrUnavailable) || errors.Is(err, patkit.ErrNotFound) || errors.Is(err, patkit.ErrUnauthorized) {
			t.Errorf("%s with the store down = %v", name, err)
		}
	}
}

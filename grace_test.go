package patkit_test

import (
	"testing"
	"time"

	"github.com/patkit/patkit"
)

const grace = 5 * time.Minute

// rotated creates a token for alice and rotates it with its own secret,
// returning the predecessor's and the successor's tokens and secrets.
func (w *world) rotated(t *testing.T) (old *patkit.Token, oldSecret string, next *patkit.Token, nextSecret string) {
	t.Helper()
	old, oldSecret = w.pat(t, 2)
	p, err := w.svc.Authenticate(t.Context(), oldSecret, patkit.AuthRequest{Rotate: true})
	if err != nil {
		t.Fatal(err)
	}
	next, nextSecret, err = w.svc.RotateSelf(t.Context(), p, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return old, oldSecret, next, nextSecret
}

func auth(w *world, t *testing.T, secret string, rotate bool) error {
	_, err := w.svc.Authenticate(t.Context(), secret, patkit.AuthRequest{Rotate: rotate, RemoteIP: "192.0.2.9"})
	return err
}

// Without RotationGrace a rotated token fails at once and its reuse on a
// rotation path revokes the family: GitLab's behaviour, unchanged.
func TestGraceOffIsGitLab(t *testing.T) {
	w := newWorld(t, nil)
	old, oldSecret, next, nextSecret := w.rotated(t)
	if got := w.get(t, old.ID); !got.Revoked || !got.Rotated || !got.RevokedAt.Equal(t0) {
		t.Errorf("predecessor: Revoked %v, Rotated %v, RevokedAt %v; want true, true, %v", got.Revoked, got.Rotated, got.RevokedAt, t0)
	}
	wantErr(t, auth(w, t, oldSecret, false), patkit.ErrTokenRevoked, "")
	wantErr(t, auth(w, t, nextSecret, false), nil, "")
	wantErr(t, auth(w, t, oldSecret, true), patkit.ErrTokenRevoked, "")
	if !w.get(t, next.ID).Revoked {
		t.Error("reuse of the predecessor on a rotation path did not revoke the successor")
	}
}

func TestGraceWindow(t *testing.T) {
	w := newWorld(t, &patkit.Options{RotationGrace: grace})
	old, oldSecret, next, nextSecret := w.rotated(t)

	// Within the window the predecessor authenticates, as does the
	// successor, and its use is recorded on it.
	w.clock.Add(grace - time.Second)
	p, err := w.svc.Authenticate(t.Context(), oldSecret, patkit.AuthRequest{RemoteIP: "192.0.2.9"})
	if err != nil {
		t.Fatalf("predecessor within the window: %v", err)
	}
	if p.Token().ID != old.ID {
		t.Errorf("principal's token %d, want the predecessor %d", p.Token().ID, old.ID)
	}
	if got := w.get(t, old.ID); len(got.LastUsedIPs) != 1 || got.LastUsedIPs[0] != "192.0.2.9" {
		t.Errorf("predecessor's last used IPs %v, want [192.0.2.9]", got.LastUsedIPs)
	}
	wantErr(t, auth(w, t, nextSecret, false), nil, "")

	// A rotation with it, on a rotation path or by ID, is refused and
	// revokes nothing.
	wantErr(t, auth(w, t, oldSecret, true), patkit.ErrBadRequest, "Token already rotated: use the token that replaced it")
	_, _, err = w.svc.RotateToken(t.Context(), w.root, old.ID, time.Time{})
	wantErr(t, err, patkit.ErrBadRequest, "Token already rotated: use the token that replaced it")
	if _, _, err := w.svc.RotateSelf(t.Context(), p, time.Time{}); err == nil {
		t.Error("RotateSelf with the predecessor's principal succeeded")
	}
	if w.get(t, next.ID).Revoked {
		t.Fatal("a rotation attempt within the window revoked the successor")
	}

	// After the window it is revoked, and reuse detection works as today.
	w.clock.Add(time.Second)
	wantErr(t, auth(w, t, oldSecret, false), patkit.ErrTokenRevoked, "")
	_, _, err = w.svc.RotateToken(t.Context(), w.root, old.ID, time.Time{})
	wantErr(t, err, patkit.ErrBadRequest, "Token already revoked")
	wantErr(t, auth(w, t, nextSecret, false), nil, "")
	wantErr(t, auth(w, t, oldSecret, true), patkit.ErrTokenRevoked, "")
	if !w.get(t, next.ID).Revoked {
		t.Error("reuse after the window did not revoke the successor")
	}
	wantErr(t, auth(w, t, nextSecret, false), patkit.ErrTokenRevoked, "")
}

// A token revoked otherwise than by its rotation never works again, and
// each revocation that must end a window does.
func TestGraceEndedByRevocation(t *testing.T) {
	ctx := t.Context()
	cases := []struct {
		name   string
		revoke func(w *world, t *testing.T, old, next *patkit.Token, oldSecret, nextSecret string)
	}{
		{"predecessor by its owner", func(w *world, t *testing.T, old, _ *patkit.Token, oldSecret, _ string) {
			p := w.login(t, oldSecret) // in its window
			if err := w.svc.RevokeSelf(ctx, p); err != nil {
				t.Fatal(err)
			}
		}},
		{"predecessor by an administrator", func(w *world, t *testing.T, old, _ *patkit.Token, _, _ string) {
			if err := w.svc.RevokeToken(ctx, w.root, old.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"predecessor by the admin token API", func(w *world, t *testing.T, _, _ *patkit.Token, oldSecret, _ string) {
			got, err := w.svc.RevokeTokenBySecret(ctx, w.root, oldSecret)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Revoked || got.Rotated {
				t.Errorf("RevokeTokenBySecret returned Revoked %v, Rotated %v; want true, false", got.Revoked, got.Rotated)
			}
		}},
		{"successor by its owner", func(w *world, t *testing.T, _, _ *patkit.Token, _, nextSecret string) {
			if err := w.svc.RevokeSelf(ctx, w.login(t, nextSecret)); err != nil {
				t.Fatal(err)
			}
		}},
		{"successor by an administrator", func(w *world, t *testing.T, _, next *patkit.Token, _, _ string) {
			if err := w.svc.RevokeToken(ctx, w.root, next.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"successor's successor", func(w *world, t *testing.T, _, next *patkit.Token, _, nextSecret string) {
			p := w.login(t, nextSecret)
			third, _, err := w.svc.RotateSelf(ctx, p, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.svc.RevokeToken(ctx, w.root, third.ID); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, &patkit.Options{RotationGrace: grace})
			old, oldSecret, next, nextSecret := w.rotated(t)
			w.login(t, oldSecret) // works, in its window
			tc.revoke(w, t, old, next, oldSecret, nextSecret)
			wantErr(t, auth(w, t, oldSecret, false), patkit.ErrTokenRevoked, "")
			// Its RevokedAt stays the rotation's.
			if got := w.get(t, old.ID); got.Rotated || !got.RevokedAt.Equal(t0) {
				t.Errorf("predecessor after the revocation: Rotated %v, RevokedAt %v; want false, %v", got.Rotated, got.RevokedAt, t0)
			}
		})
	}
}

// Reuse detection on an older member ends the window of a younger one.
func TestGraceEndedByFamilyRevocation(t *testing.T) {
	w := newWorld(t, &patkit.Options{RotationGrace: grace})
	_, aSecret, b, bSecret := w.rotated(t) // a → b at t0
	w.clock.Add(grace / 2)
	c, cSecret, err := w.svc.RotateSelf(t.Context(), w.login(t, bSecret), time.Time{}) // b → c
	if err != nil {
		t.Fatal(err)
	}
	w.clock.Add(grace/2 + time.Second) // a's window is over, b's is not
	wantErr(t, auth(w, t, bSecret, false), nil, "")
	wantErr(t, auth(w, t, aSecret, true), patkit.ErrTokenRevoked, "") // reuse of a
	if !w.get(t, c.ID).Revoked {
		t.Error("reuse did not revoke the live end of the family")
	}
	wantErr(t, auth(w, t, bSecret, false), patkit.ErrTokenRevoked, "")
	wantErr(t, auth(w, t, cSecret, false), patkit.ErrTokenRevoked, "")
	if got := w.get(t, b.ID); got.Rotated {
		t.Error("b is still marked Rotated after the family's revocation")
	}
}

// A token in its window is read from the Store on every request, so that
// a revocation made through another Service ends its window at once, with
// no Watch.
func TestGraceNotCached(t *testing.T) {
	w := newWorld(t, &patkit.Options{RotationGrace: grace})
	other, err := patkit.New(w.store, w.dir, testKey, &patkit.Options{RotationGrace: grace, Now: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	_, oldSecret, next, _ := w.rotated(t)
	login := func() error {
		_, err := other.Authenticate(t.Context(), oldSecret, patkit.AuthRequest{})
		return err
	}
	wantErr(t, login(), nil, "")
	before := w.store.getByDigest.Load()
	wantErr(t, login(), nil, "")
	if n := w.store.getByDigest.Load() - before; n != 1 {
		t.Errorf("%d reads for a token in its window, want 1 (not cached)", n)
	}
	if err := w.svc.RevokeToken(t.Context(), w.root, next.ID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, login(), patkit.ErrTokenRevoked, "")
}

// The grace window applies to every kind of token rotation serves.
func TestGraceResourceToken(t *testing.T) {
	w := newWorld(t, &patkit.Options{RotationGrace: grace})
	tok, secret, err := w.svc.CreateResourceToken(t.Context(), w.alice, patkit.ResourceProject, "acme/widgets",
		patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{patkit.ScopeAPI}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.svc.RotateResourceToken(t.Context(), w.alice, patkit.ResourceProject, "acme/widgets", tok.ID, time.Time{}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, auth(w, t, secret, false), nil, "")
	_, _, err = w.svc.RotateResourceToken(t.Context(), w.alice, patkit.ResourceProject, "acme/widgets", tok.ID, time.Time{})
	wantErr(t, err, patkit.ErrBadRequest, "Token already rotated: use the token that replaced it")
}

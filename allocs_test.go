//go:build !race

// The race detector makes sync.Pool drop what is put in it, so these
// counts hold only without it.

package patkit_test

import (
	"testing"

	"github.com/patkit/patkit"
)

// TestAuthenticateAllocations guards the allocation budget of the two hot
// paths: rejecting a malformed secret allocates nothing, and neither does
// authenticating a cached token again from the same address (the
// Principal of the previous request is handed out again).
func TestAuthenticateAllocations(t *testing.T) {
	w := newWorld(t, nil)
	_, secret := w.pat(t, 2)
	bad := secret[:len(secret)-1] + "0"
	if bad == secret {
		bad = secret[:len(secret)-1] + "1"
	}
	ctx := t.Context()
	req := patkit.AuthRequest{RemoteIP: "10.0.0.1"}
	if _, err := w.svc.Authenticate(ctx, secret, req); err != nil {
		t.Fatal(err) // cached, use recorded
	}
	for _, c := range []struct {
		name   string
		secret string
		max    float64
	}{
		{"malformed", bad, 0},
		{"unknown prefix", "glpat-", 0},
		{"cached", secret, 0},
		// Well-formed, held by no token: known so from the first try.
		{"unknown", patkit.UnknownSecret(w.svc), 0},
	} {
		n := testing.AllocsPerRun(200, func() { w.svc.Authenticate(ctx, c.secret, req) })
		if n > c.max {
			t.Errorf("%s: %.1f allocations per Authenticate, want at most %.0f", c.name, n, c.max)
		}
	}
}

package bootstrap_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/internal/bootstrap"
	"github.com/patkit/patkit/memstore"
)

// A new bootstrap token revokes every other active one, however many
// pages of them there are.
func TestEnsureRevokesEveryOther(t *testing.T) {
	ctx := context.Background()
	dir := &patkit.MemDirectory{}
	dir.AddUser(patkit.User{ID: 1, Username: "root", Admin: true})
	key := make([]byte, patkit.MinKeyLen)
	svc, err := patkit.New(memstore.New(), dir, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := svc.Principal(ctx, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	const old = 250 // more than two pages of 100
	for range old {
		if _, _, err := svc.CreateToken(ctx, admin, 1, patkit.TokenOptions{Name: bootstrap.Name, Scopes: bootstrap.Scopes}); err != nil {
			t.Fatal(err)
		}
	}
	created, err := bootstrap.Ensure(ctx, svc, admin, 1, filepath.Join(t.TempDir(), "root.token"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil || !created {
		t.Fatalf("Ensure = %v, %v; want a new token", created, err)
	}
	page, err := svc.ListUserTokens(ctx, admin, 1, patkit.Filter{State: patkit.StateActive})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 1 {
		t.Errorf("%d active bootstrap tokens after Ensure, want 1", page.Total)
	}
}

package pgstore_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/pgstore"
)

// statementCounter is a pgx tracer counting the statements sent.
type statementCounter struct{ n atomic.Int64 }

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// Each write is one statement, so one round trip and one commit: Rotate
// included, whose revocation and insert used to be a transaction of five
// (BEGIN, SELECT ... FOR UPDATE, UPDATE, INSERT, COMMIT).
func TestWritesAreOneStatement(t *testing.T) {
	ctx := t.Context()
	cfg, err := pgxpool.ParseConfig(testDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	counter := &statementCounter{}
	cfg.ConnConfig.Tracer = counter
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s, err := pgstore.New(pool, &pgstore.Options{Schema: newSchema(t), NoSearchIndex: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	old, next, third := token("old"), token("next"), token("third")
	calls := []struct {
		name string
		call func() error
		want error
	}{
		{"Create", func() error { return s.Create(ctx, old) }, nil},
		{"SetLastUsed", func() error { return s.SetLastUsed(ctx, old.ID, time.Now(), []string{"10.0.0.1"}) }, nil},
		{"Rotate", func() error { next.PreviousID = old.ID; return s.Rotate(ctx, old.ID, next) }, nil},
		{"Rotate of a revoked token", func() error { return s.Rotate(ctx, old.ID, third) }, patkit.ErrTokenRevoked},
		{"Rotate of a missing token", func() error { return s.Rotate(ctx, next.ID+1000, third) }, patkit.ErrNotFound},
		{"Revoke", func() error { return s.Revoke(ctx, next.ID, time.Now()) }, nil},
	}
	for _, c := range calls {
		before := counter.n.Load()
		if err := c.call(); !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Fatalf("%s: %v, want %v", c.name, err, c.want)
		}
		if n := counter.n.Load() - before; n != 1 {
			t.Errorf("%s: %d statements, want 1", c.name, n)
		}
	}
	got, err := s.Get(ctx, next.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.PreviousID != old.ID || !got.Revoked {
		t.Errorf("successor: previous %d, revoked %v; want %d, true", got.PreviousID, got.Revoked, old.ID)
	}
	if third.ID != 0 {
		t.Errorf("a refused rotation set the new token's ID: %d", third.ID)
	}
}

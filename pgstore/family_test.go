package pgstore_test

import (
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// A cycle of previous_id links edited into the table by hand (a → b → c
// → a) ends the walk: only links to larger IDs are followed.
func TestRevokeDescendantsHandEditedCycle(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	s := openStore(t, schema)
	ctx := t.Context()
	var ids []int64
	for _, name := range []string{"a", "b", "c"} {
		tok := token(name)
		if len(ids) > 0 {
			tok.PreviousID = ids[len(ids)-1]
		}
		if err := s.Create(ctx, tok); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tok.ID)
	}
	a, b, c := ids[0], ids[1], ids[2]
	tokens := pgx.Identifier{schema, "tokens"}.Sanitize()
	if _, err := newPool(t).Exec(ctx, "UPDATE "+tokens+" SET previous_id = $1 WHERE id = $2", c, a); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		id   int64
		want []int64
	}{{c, nil}, {b, []int64{c}}, {a, []int64{b}}, {a, nil}} {
		got, err := s.RevokeDescendants(ctx, step.id, time.Now())
		if err != nil {
			t.Fatalf("RevokeDescendants(%d): %v", step.id, err)
		}
		if !slices.Equal(got, step.want) {
			t.Errorf("RevokeDescendants(%d) = %v, want %v", step.id, got, step.want)
		}
	}
	if tok, err := s.Get(ctx, a); err != nil || tok.Revoked {
		t.Errorf("token %d, the start of the cycle: %+v, %v; want it unrevoked", a, tok, err)
	}
}

// A rotation of a member that holds its lock when RevokeDescendants
// reaches it commits a successor while RevokeDescendants waits: the
// successor is revoked too.
func TestRevokeDescendantsWaitsForRotation(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	s := openStore(t, schema)
	ctx := t.Context()
	root := token("root")
	if err := s.Create(ctx, root); err != nil {
		t.Fatal(err)
	}
	member := token("member")
	member.PreviousID = root.ID
	if err := s.Create(ctx, member); err != nil {
		t.Fatal(err)
	}

	// Another process's Rotate of member, between its lock and its commit.
	pool := newPool(t)
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	tokens := pgx.Identifier{schema, "tokens"}.Sanitize()
	if _, err := tx.Exec(ctx, "SELECT revoked FROM "+tokens+" WHERE id = $1 FOR UPDATE", member.ID); err != nil {
		t.Fatal(err)
	}

	type result struct {
		ids []int64
		err error
	}
	done := make(chan result, 1)
	go func() {
		ids, err := s.RevokeDescendants(ctx, root.ID, time.Now())
		done <- result{ids, err}
	}()
	// Wait until RevokeDescendants waits for member's lock.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND strpos(query, $1) > 0`, tokens).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		select {
		case r := <-done:
			t.Fatalf("RevokeDescendants returned %v, %v without waiting for the locked member", r.ids, r.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("RevokeDescendants is not waiting for the locked member after 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}

	succ := token("successor")
	if _, err := tx.Exec(ctx, "UPDATE "+tokens+" SET revoked = true WHERE id = $1", member.ID); err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow(ctx, "INSERT INTO "+tokens+` (user_id, name, created_at, expires_at, previous_id, digest)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		succ.UserID, succ.Name, succ.CreatedAt, succ.ExpiresAt, member.ID, succ.Digest).Scan(&succ.ID); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	var r result
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("RevokeDescendants has not returned 10s after the rotation committed")
	}
	if r.err != nil {
		t.Fatalf("RevokeDescendants: %v", r.err)
	}
	if want := []int64{succ.ID}; !slices.Equal(r.ids, want) {
		t.Errorf("RevokeDescendants = %v, want %v (the successor; the rotation revoked member)", r.ids, want)
	}
	got, err := s.Get(ctx, succ.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Revoked {
		t.Error("the successor committed during the family revocation is active")
	}
}

package sqlitestore_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/patkit/patkit/sqlitestore"
)

// A cycle of previous_id links edited into the table by hand (a → b → c
// → a) ends the walk: only links to larger IDs are followed.
func TestRevokeDescendantsHandEditedCycle(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "patkit.db"))
	s := newStore(t, db, &sqlitestore.Options{TablePrefix: "patkit_"})
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
	if _, err := db.ExecContext(ctx, "UPDATE patkit_tokens SET previous_id = ? WHERE id = ?", c, a); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		id   int64
		want []int64
	}{{c, nil}, {b, []int64{c}}, {a, []int64{b}}, {a, nil}} {
		got, err := s.RevokeDescendants(ctx, step.id)
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

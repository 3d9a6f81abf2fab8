package sqlitestore

import (
	"errors"
	"path/filepath"
	"testing"
)

// TestLookupConnFails checks that a lookup connection that cannot be
// opened (a file that cannot be created, a statement that does not
// prepare) fails with SQLite's error and leaves nothing behind.
func TestLookupConnFails(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ path, query string }{
		{filepath.Join(dir, "missing", "patkit.db"), "SELECT 1"},
		{filepath.Join(dir, "patkit.db"), "SELECT id FROM no_such_table WHERE digest = ?"},
	} {
		p := newLookupPool(c.path, c.query, 1)
		_, err := p.byDigest(t.Context(), []byte("digest"))
		var e *cError
		if !errors.As(err, &e) || e.Code() == 0 {
			t.Errorf("lookup on %s with %q: %v, want SQLite's error", c.path, c.query, err)
		}
		p.close()
	}
}

package sqlitestore_test

import (
	"path/filepath"
	"testing"

	"github.com/patkit/patkit/sqlitestore"
)

// SQLite's synchronous settings, as PRAGMA synchronous reports them.
const (
	syncNormal = 1
	syncFull   = 2
)

// An acknowledged write survives a power failure by default: the writer
// commits with synchronous=FULL, and DSN asks for it too. Only
// Options.RelaxedDurability gives synchronous=NORMAL.
func TestDurableByDefault(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts *sqlitestore.Options
		want int
	}{
		{"nil Options", nil, syncFull},
		{"zero Options", &sqlitestore.Options{}, syncFull},
		{"RelaxedDurability", &sqlitestore.Options{RelaxedDurability: true}, syncNormal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, tc.opts)
			got, err := s.Synchronous(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("synchronous = %d, want %d", got, tc.want)
			}
		})
	}
	t.Run("DSN", func(t *testing.T) {
		db := openDB(t, filepath.Join(t.TempDir(), "patkit.db"))
		var got int
		if err := db.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != syncFull {
			t.Errorf("synchronous with DSN = %d, want %d (FULL)", got, syncFull)
		}
	})
}

// The writer checkpoints every 4,000 pages of log, not SQLite's 1,000
// (see writePragmas), through Open and through DSN.
func TestWriterCheckpointInterval(t *testing.T) {
	const want = 4000
	for _, opts := range []*sqlitestore.Options{nil, {RelaxedDurability: true}} {
		s := open(t, opts)
		got, err := s.WALAutocheckpoint(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("Open(%+v): wal_autocheckpoint = %d, want %d", opts, got, want)
		}
	}
	db := openDB(t, filepath.Join(t.TempDir(), "patkit.db"))
	var got int
	if err := db.QueryRowContext(t.Context(), "PRAGMA wal_autocheckpoint").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("DSN: wal_autocheckpoint = %d, want %d", got, want)
	}
}

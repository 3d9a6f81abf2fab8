package sqlitestore_test

import (
	"os"
	"path/filepath"
	"testing"
)

// The database file and the -wal and -shm files SQLite creates beside it
// hold token digests: Open creates them readable and writable by their
// owner only, whatever the umask lets through.
func TestNewFilesPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.db")
	s := openPath(t, path, nil)
	if err := s.Create(t.Context(), token("on disk")); err != nil {
		t.Fatal(err)
	}
	// While the Store is open, WAL mode keeps the -wal and -shm files.
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(name), err)
			continue
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("%s: mode %v, want -rw-------", filepath.Base(name), fi.Mode())
		}
	}
}

// Open leaves the mode of an existing database file as its owner set it.
func TestExistingFileModeKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.db")
	s := openPath(t, path, nil)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	openPath(t, path, nil)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o640 {
		t.Errorf("mode after reopening = %v, want -rw-r-----", fi.Mode())
	}
}

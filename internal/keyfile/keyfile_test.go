package keyfile_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/internal/keyfile"
	"github.com/patkit/patkit/memstore"
)

func TestRotate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.key")
	first, prev, err := keyfile.Load(t.Context(), path, memstore.New())
	if err != nil || len(prev) != 0 {
		t.Fatalf("Load: %d previous, %v", len(prev), err)
	}
	second, prev, err := keyfile.Rotate(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(first, second) || len(prev) != 1 || !bytes.Equal(prev[0], first) {
		t.Fatalf("after one rotation: new key equal %v, previous %d", bytes.Equal(first, second), len(prev))
	}
	third, prev, err := keyfile.Rotate(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(prev) != 2 || !bytes.Equal(prev[0], second) || !bytes.Equal(prev[1], first) {
		t.Fatalf("after two rotations: %d previous, not newest first", len(prev))
	}
	// What the files hold is what Read and Load return.
	for name, read := range map[string]func() ([]byte, [][]byte, error){
		"Read": func() ([]byte, [][]byte, error) { return keyfile.Read(path) },
		"Load": func() ([]byte, [][]byte, error) { return keyfile.Load(t.Context(), path, memstore.New()) },
	} {
		k, p, err := read()
		if err != nil || !bytes.Equal(k, third) || len(p) != 2 || !bytes.Equal(p[0], second) || !bytes.Equal(p[1], first) {
			t.Errorf("%s: key equal %v, %d previous, %v", name, bytes.Equal(k, third), len(p), err)
		}
	}
	for _, p := range []string{path, keyfile.PreviousPath(path)} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want mode 0600", p, fi, err)
		}
	}
	if _, err := os.Stat(path + ".new"); !os.IsNotExist(err) {
		t.Errorf("temporary file left: %v", err)
	}
}

func TestReadRefuses(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "patkit.key")
	if _, _, err := keyfile.Read(path); err == nil {
		t.Error("Read of a missing key file succeeded")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Error("Read created the key file")
	}
	os.WriteFile(path, bytes.Repeat([]byte("k"), patkit.MinKeyLen), 0o600)
	for content, want := range map[string]string{
		"not hex\n":                           "line 1",
		"\n" + strings.Repeat("ab", 8) + "\n": "line 2", // too short
	} {
		os.WriteFile(keyfile.PreviousPath(path), []byte(content), 0o600)
		if _, _, err := keyfile.Read(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("previous keys %q: %v, want an error naming %q", content, err, want)
		}
	}
	os.Chmod(keyfile.PreviousPath(path), 0o644)
	if _, _, err := keyfile.Read(path); err == nil || !strings.Contains(err.Error(), "mode") {
		t.Errorf("previous keys readable by others: %v", err)
	}
}

// A missing key file over a database with tokens is an error, not a new
// key: the tokens could never authenticate again.
func TestLoadRefusesNewKeyOverTokens(t *testing.T) {
	store := memstore.New()
	if err := store.Create(t.Context(), &patkit.Token{UserID: 1, Name: "x", Digest: []byte("d")}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "patkit.key")
	if _, _, err := keyfile.Load(t.Context(), path, store); err == nil || !strings.Contains(err.Error(), "holds tokens") {
		t.Fatalf("Load = %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Error("the new key file was left behind")
	}
}

package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/patkit/patkit/internal/keyfile"
)

// After the key is rotated (patkit key rotate writes the files as
// keyfile.Rotate does), the server reads the previous key beside the key
// file: tokens made before keep working, and once used they are
// re-digested under the new key and no longer need the previous one.
func TestKeyRotation(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir)
	root := readToken(t, filepath.Join(dir, "root.token"))
	s.shutdown(t)

	keyPath := filepath.Join(dir, "patkit.db.key")
	if _, _, err := keyfile.Rotate(keyPath); err != nil {
		t.Fatal(err)
	}
	s = start(t, dir)
	if code, _, _, _ := s.call(t, "GET", "/api/v4/personal_access_tokens/self", root, nil); code != 200 {
		t.Fatalf("the root token after a key rotation: %d, want 200", code)
	}
	s.shutdown(t)

	if err := os.Remove(keyfile.PreviousPath(keyPath)); err != nil {
		t.Fatal(err)
	}
	s = start(t, dir)
	defer s.shutdown(t)
	if code, _, _, _ := s.call(t, "GET", "/api/v4/personal_access_tokens/self", root, nil); code != 200 {
		t.Errorf("the root token, used once since the rotation, without the previous key: %d, want 200", code)
	}
}

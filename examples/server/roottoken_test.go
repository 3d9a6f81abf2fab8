package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// activeBootstraps counts the active bootstrap tokens, as root sees them.
func activeBootstraps(t *testing.T, s *server, root string) int {
	t.Helper()
	code, _, _, list := s.call(t, "GET", "/api/v4/personal_access_tokens?user_id=1&state=active&per_page=100", root, nil)
	if code != 200 {
		t.Fatalf("list root's tokens: %d", code)
	}
	n := 0
	for _, x := range list {
		if x.(map[string]any)["name"] == bootstrapName {
			n++
		}
	}
	return n
}

func readToken(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// runFails runs the server and expects it to refuse to start with an error
// containing want.
func runFails(t *testing.T, want string, flags ...string) {
	t.Helper()
	var stderr syncBuffer
	err := run(t.Context(), append([]string{"-addr", "127.0.0.1:0"}, flags...), &stderr)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("run = %v, want an error saying %q\n%s", err, want, stderr.String())
	}
}

func TestRootTokenFile(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "patkit.db")
	tokPath := filepath.Join(dir, "root.token")
	s := start(t, dir)
	first := readToken(t, tokPath)
	s.shutdown(t)

	// A deleted file gives a new token, and the old one stops working:
	// one active bootstrap token at a time.
	for range 3 {
		if err := os.Remove(tokPath); err != nil {
			t.Fatal(err)
		}
		s = start(t, dir)
		next := readToken(t, tokPath)
		if next == first {
			t.Fatal("token reused after its file was deleted")
		}
		if code, _, _, _ := s.call(t, "GET", "/api/v4/personal_access_tokens/self", first, nil); code != 401 {
			t.Errorf("the replaced bootstrap token answers %d, want 401", code)
		}
		if n := activeBootstraps(t, s, next); n != 1 {
			t.Errorf("%d active bootstrap tokens, want 1", n)
		}
		s.shutdown(t)
		first = next
	}

	// Anything but this server's bootstrap token is refused, and the file
	// is left as it was.
	for _, c := range []struct {
		name, content, want string
	}{
		{"garbage", "not a token\n", "does not hold this server's bootstrap token"},
		{"another server's", "glpat-aaaaaaaaaaaaaaaaaaaaaaaaaaa0000000\n", "does not hold this server's bootstrap token"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.name+".token")
			if err := os.WriteFile(p, []byte(c.content), 0o600); err != nil {
				t.Fatal(err)
			}
			runFails(t, c.want, "-db", db, "-root-token-file", p)
			if b, _ := os.ReadFile(p); string(b) != c.content {
				t.Errorf("file overwritten with %q", b)
			}
		})
	}
	t.Run("link", func(t *testing.T) {
		p := filepath.Join(dir, "link.token")
		if err := os.Symlink(tokPath, p); err != nil {
			t.Fatal(err)
		}
		runFails(t, "symbolic link", "-db", db, "-root-token-file", p)
	})
	t.Run("readable by others", func(t *testing.T) {
		p := filepath.Join(dir, "open.token")
		os.WriteFile(p, []byte(first+"\n"), 0o600)
		os.Chmod(p, 0o644)
		runFails(t, "mode", "-db", db, "-root-token-file", p)
	})
	t.Run("unwritable path", func(t *testing.T) {
		runFails(t, "root token", "-db", db, "-root-token-file", filepath.Join(dir, "missing", "root.token"))
		// The token created for the file was revoked: the old one is still
		// the only active one.
		s := start(t, dir)
		defer s.shutdown(t)
		if n := activeBootstraps(t, s, first); n != 1 {
			t.Errorf("%d active bootstrap tokens after a failed write, want 1", n)
		}
	})
}

// TestWrongKey starts the server over a database with another key file: it
// must refuse to start, not mint a new root token.
func TestWrongKey(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir)
	s.shutdown(t)
	other := filepath.Join(dir, "other.key")
	if err := os.WriteFile(other, []byte(strings.Repeat("k", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	before := readToken(t, filepath.Join(dir, "root.token"))
	runFails(t, "does not match", "-db", filepath.Join(dir, "patkit.db"), "-root-token-file", filepath.Join(dir, "root.token"), "-key-file", other)
	if after := readToken(t, filepath.Join(dir, "root.token")); after != before {
		t.Error("the root token file changed")
	}
}

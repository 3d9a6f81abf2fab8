package patkit_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/patkit/patkit"
)

func TestLoadOrCreateKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "patkit.key")

	key, created, err := patkit.LoadOrCreateKey(path)
	if err != nil || !created || len(key) != patkit.MinKeyLen {
		t.Fatalf("first call: %d bytes, created %v, %v", len(key), created, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	again, created, err := patkit.LoadOrCreateKey(path)
	if err != nil || created || !bytes.Equal(again, key) {
		t.Fatalf("second call: created %v, same key %v, %v", created, bytes.Equal(again, key), err)
	}

	refused := func(name, want string, setup func(p string)) {
		t.Helper()
		p := filepath.Join(dir, name)
		setup(p)
		if _, _, err := patkit.LoadOrCreateKey(p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one saying %q", name, err, want)
		}
	}
	refused("world.key", "mode", func(p string) {
		os.WriteFile(p, key, 0o600)
		os.Chmod(p, 0o644)
	})
	refused("group.key", "mode", func(p string) {
		os.WriteFile(p, key, 0o600)
		os.Chmod(p, 0o640)
	})
	refused("link.key", "symbolic link", func(p string) { os.Symlink(path, p) })
	refused("short.key", "need at least", func(p string) { os.WriteFile(p, key[:8], 0o600) })
}

func TestLoadOrCreateKeyConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.key")
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		keys [][]byte
	)
	for range 8 {
		wg.Go(func() {
			k, _, err := patkit.LoadOrCreateKey(path)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			keys = append(keys, k)
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, k := range keys {
		if !bytes.Equal(k, keys[0]) {
			t.Fatal("concurrent callers got different keys")
		}
	}
}

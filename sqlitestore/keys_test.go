package sqlitestore_test

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/sqlitestore"
)

func keyStore(t *testing.T, s *sqlitestore.Store) patkit.KeyStore {
	t.Helper()
	ks, ok := patkit.Store(s).(patkit.KeyStore)
	if !ok {
		t.Fatalf("%T is not a patkit.KeyStore", s)
	}
	return ks
}

// Processes starting at once on a new file each try to store their key
// check value: exactly one succeeds, and all then read the same value.
func TestKeyCheckTwoHandles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.db")
	handles := []patkit.KeyStore{keyStore(t, openPath(t, path, nil)), keyStore(t, openPath(t, path, nil))}
	var wins atomic.Int64
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			ok, err := handles[i%2].SwapKeyCheck(t.Context(), nil, []byte(fmt.Sprint("check ", i)))
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Fatalf("%d first swaps won, want exactly 1", n)
	}
	a, errA := handles[0].KeyCheck(t.Context())
	b, errB := handles[1].KeyCheck(t.Context())
	if errA != nil || errB != nil || a == nil || !bytes.Equal(a, b) {
		t.Errorf("KeyCheck through the two handles: %q, %v and %q, %v; want the same value", a, errA, b, errB)
	}
}

// The key check value lives with the tables of its TablePrefix.
func TestKeyCheckTablePrefix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.db")
	a := keyStore(t, openPath(t, path, &sqlitestore.Options{TablePrefix: "a_"}))
	b := keyStore(t, openPath(t, path, &sqlitestore.Options{TablePrefix: "b_"}))
	if ok, err := a.SwapKeyCheck(t.Context(), nil, []byte("a's check")); !ok || err != nil {
		t.Fatalf("SwapKeyCheck on a_: %v, %v", ok, err)
	}
	if got, err := b.KeyCheck(t.Context()); got != nil || err != nil {
		t.Errorf("KeyCheck on b_ = %q, %v; want nil", got, err)
	}
}

// A Service started again on the file with another key refuses to work,
// rather than answering every token 401.
func TestWrongKeyRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.db")
	dir := new(patkit.MemDirectory)
	first := []byte("the first instance key, 32 bytes")
	svc, err := patkit.New(openPath(t, path, nil), dir, first, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.VerifyKey(t.Context()); err != nil {
		t.Fatalf("VerifyKey on a new file: %v", err)
	}
	other, err := patkit.New(openPath(t, path, nil), dir, []byte("another instance key of 32 bytes"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.VerifyKey(t.Context()); !errors.Is(err, patkit.ErrKeyMismatch) {
		t.Errorf("VerifyKey with another key: %v, want ErrKeyMismatch", err)
	}
	again, err := patkit.New(openPath(t, path, nil), dir, first, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := again.VerifyKey(t.Context()); err != nil {
		t.Errorf("VerifyKey with the first key again: %v", err)
	}
}

package storetest

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/patkit/patkit"
)

// testKeyCheck checks the compare-and-swap of the key check value,
// including concurrent first stores with exactly one winner.
func testKeyCheck(t *testing.T, s patkit.Store) {
	ks := implementation[patkit.KeyStore](t, s)
	a, b := bytes.Repeat([]byte{0xa}, 32), bytes.Repeat([]byte{0xb}, 32)
	if got, err := ks.KeyCheck(ctx(t)); err != nil || got != nil {
		t.Fatalf("KeyCheck on a new store = %x, %v; want nil", got, err)
	}
	var wins atomic.Int64
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			v := a
			if i%2 == 1 {
				v = b
			}
			ok, err := ks.SwapKeyCheck(ctx(t), nil, v)
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
		t.Fatalf("%d concurrent first stores won, want 1", n)
	}
	first, err := ks.KeyCheck(ctx(t))
	if err != nil || !bytes.Equal(first, a) && !bytes.Equal(first, b) {
		t.Fatalf("KeyCheck = %x, %v", first, err)
	}
	other := a
	if bytes.Equal(first, a) {
		other = b
	}
	if ok, err := ks.SwapKeyCheck(ctx(t), other, other); ok || err != nil {
		t.Errorf("swap from a value not stored = %v, %v; want false", ok, err)
	}
	if ok, err := ks.SwapKeyCheck(ctx(t), first, other); !ok || err != nil {
		t.Errorf("swap from the stored value = %v, %v; want true", ok, err)
	}
	if got, _ := ks.KeyCheck(ctx(t)); !bytes.Equal(got, other) {
		t.Errorf("KeyCheck after the swap = %x, want %x", got, other)
	}
}

// testSetDigest checks re-digesting a token.
func testSetDigest(t *testing.T, s patkit.Store) {
	ks := implementation[patkit.KeyStore](t, s)
	tok := create(t, s, simple("rekeyed"))
	taken := create(t, s, simple("taken"))
	next := digest("rekeyed under the new key")

	checkErr(t, "SetDigest with a stale digest", ks.SetDigest(ctx(t), tok.ID, digest("stale"), next), patkit.ErrNotFound)
	checkErr(t, "SetDigest of a missing token", ks.SetDigest(ctx(t), tok.ID+1000, tok.Digest, next), patkit.ErrNotFound)
	checkErr(t, "SetDigest to a digest in use", ks.SetDigest(ctx(t), tok.ID, tok.Digest, taken.Digest), patkit.ErrConflict)
	if err := ks.SetDigest(ctx(t), tok.ID, tok.Digest, next); err != nil {
		t.Fatalf("SetDigest: %v", err)
	}
	got, err := s.GetByDigest(ctx(t), next)
	if err != nil || got.ID != tok.ID {
		t.Fatalf("GetByDigest(new digest) = %v, %v", got, err)
	}
	if _, err := s.GetByDigest(ctx(t), tok.Digest); !errors.Is(err, patkit.ErrNotFound) {
		t.Errorf("GetByDigest(old digest) = %v, want ErrNotFound", err)
	}
}

// testTextRoundTrip stores names and descriptions at the edges of what the
// Service lets through and expects them back byte for byte.
func testTextRoundTrip(t *testing.T, s patkit.Store) {
	for _, text := range []string{
		"emoji 🔑 and ünïcödé",
		"wild % _ \\ cards",
		"tab\tand newline\n",
		"no-break\u00a0space and \u200b zero width",
		strings.Repeat("𝄞", 255), // 255 four-byte characters
		"'; DROP TABLE tokens; --",
	} {
		tok := simple(text)
		tok.Description = text
		tok = create(t, s, tok)
		got := get(t, s, tok.ID)
		if got.Name != text || got.Description != text {
			t.Errorf("stored %q, got back name %q, description %q", text, got.Name, got.Description)
		}
	}
}

package patkit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
)

// ErrKeyMismatch reports that the instance key given to New is not the one
// the Store's tokens are digested with, nor one of Options.PreviousKeys.
// Every token would be unknown under it, so the Service refuses to work.
var ErrKeyMismatch = errors.New("patkit: the instance key does not match the key this store's tokens were digested with")

// KeyStore is the optional ability of a Store to remember which instance
// key its tokens are digested with, and to re-digest a token when the key
// is rotated. A Service on a Store without it cannot tell a wrong key from
// unknown tokens. memstore, sqlitestore and pgstore have it.
type KeyStore interface {
	// KeyCheck returns the stored key check value, or nil if none is
	// stored yet.
	KeyCheck(ctx context.Context) ([]byte, error)
	// SwapKeyCheck stores next as the key check value if the stored value
	// is still prev (nil: none is stored yet), atomically, and reports
	// whether it did.
	SwapKeyCheck(ctx context.Context, prev, next []byte) (bool, error)
	// SetDigest replaces the digest of token id, if it is still prev, with
	// next. It returns ErrNotFound if the token does not exist or its
	// digest is no longer prev, and ErrConflict if another token has next.
	SetDigest(ctx context.Context, id int64, prev, next []byte) error
}

// keyCheck is the value that identifies key in a KeyStore without
// revealing it.
func keyCheck(key []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("patkit key check v1"))
	return m.Sum(nil)
}

// VerifyKey checks the instance key against the one the Store remembers,
// storing it on first use; call it at startup to fail early and clearly.
// The Service calls it by itself before its first use of the Store, so a
// wrong key never answers every token 401. It fails with ErrKeyMismatch if
// the Store remembers another key that is not one of Options.PreviousKeys;
// when it remembers a previous key, the current one takes its place (the
// key is being rotated). A Store that is not a KeyStore verifies nothing.
func (s *Service) VerifyKey(ctx context.Context) error {
	ks, ok := s.store.(KeyStore)
	if !ok || s.keyVerified.Load() {
		return nil
	}
	want := keyCheck(s.key)
	for {
		got, err := ks.KeyCheck(ctx)
		if err != nil {
			return fmt.Errorf("patkit: verify key: %w", err)
		}
		if bytes.Equal(got, want) {
			s.keyVerified.Store(true)
			return nil
		}
		if got != nil && !s.previousCheck(got) {
			return fmt.Errorf("%w (give the key it was started with, or list that one in Options.PreviousKeys to rotate)", ErrKeyMismatch)
		}
		swapped, err := ks.SwapKeyCheck(ctx, got, want)
		if err != nil {
			return fmt.Errorf("patkit: verify key: %w", err)
		}
		if swapped {
			s.keyVerified.Store(true)
			return nil
		}
		// Another Service stored its check first: compare with that one.
	}
}

func (s *Service) previousCheck(check []byte) bool {
	for _, k := range s.opts.PreviousKeys {
		if hmac.Equal(check, keyCheck(k)) {
			return true
		}
	}
	return false
}

// byPreviousKey finds the token of secret under Options.PreviousKeys and
// re-digests it under the current key d, so that it is found directly from
// then on. It returns ErrNotFound if no previous key finds it.
func (s *Service) byPreviousKey(ctx context.Context, secret string, d []byte) (*Token, error) {
	for _, k := range s.opts.PreviousKeys {
		m := hmac.New(sha256.New, k)
		m.Write([]byte(secret))
		old := m.Sum(nil)
		tok, err := s.store.GetByDigest(ctx, old)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if ks, ok := s.store.(KeyStore); ok && ks.SetDigest(ctx, tok.ID, old, d) == nil {
			tok.Digest = d
		}
		// Otherwise it is found under the previous key again next time.
		return tok, nil
	}
	return nil, ErrNotFound
}

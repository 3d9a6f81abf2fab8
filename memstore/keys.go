package memstore

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/patkit/patkit"
)

// KeyCheck implements patkit.KeyStore.
func (s *Store) KeyCheck(ctx context.Context) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.usable(ctx, "key check"); err != nil {
		return nil, err
	}
	return slices.Clone(s.keyCheck), nil
}

// SwapKeyCheck implements patkit.KeyStore.
func (s *Store) SwapKeyCheck(ctx context.Context, prev, next []byte) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(ctx, "swap key check"); err != nil {
		return false, err
	}
	if !bytes.Equal(s.keyCheck, prev) || s.keyCheck == nil != (prev == nil) {
		return false, nil
	}
	s.keyCheck = slices.Clone(next)
	return true, nil
}

// SetDigest implements patkit.KeyStore.
func (s *Store) SetDigest(ctx context.Context, id int64, prev, next []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(ctx, "set digest"); err != nil {
		return err
	}
	t, ok := s.tokens[id]
	if !ok || !bytes.Equal(t.Digest, prev) {
		return notFound(id)
	}
	if _, ok := s.byDigest[string(next)]; ok {
		return fmt.Errorf("memstore: set digest of token %d: %w", id, patkit.ErrConflict)
	}
	delete(s.byDigest, string(prev))
	t.Digest = slices.Clone(next)
	s.byDigest[string(next)] = id
	return nil
}

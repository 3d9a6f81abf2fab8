package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/patkit/patkit"
)

var _ patkit.KeyStore = (*Store)(nil)

// metaKeyCheck names the key check value in the table patkit_meta.
const metaKeyCheck = "key_check"

// KeyCheck returns the key check value stored in the database (in the
// table patkit_meta), or nil if none is stored yet.
func (s *Store) KeyCheck(ctx context.Context) ([]byte, error) {
	const name = "read key check"
	if err := s.r.check(ctx); err != nil {
		return nil, wrap(name, err)
	}
	var v []byte
	err := s.r.db.QueryRowContext(ctx, `SELECT value FROM `+s.q.meta+` WHERE name = ?`, metaKeyCheck).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap(name, err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// SwapKeyCheck stores next as the key check value if the stored value is
// still prev (nil: none is stored yet) and reports whether it did. The
// comparison and the store are one statement of a write transaction, so
// of Stores or processes swapping at once from the same prev exactly one
// succeeds. next must not be empty.
func (s *Store) SwapKeyCheck(ctx context.Context, prev, next []byte) (bool, error) {
	const name = "swap key check"
	if len(next) == 0 {
		return false, fmt.Errorf("sqlitestore: %s: empty value", name)
	}
	query, args := `UPDATE `+s.q.meta+` SET value = ? WHERE name = ? AND value = ?`, []any{next, metaKeyCheck, prev}
	if prev == nil {
		query, args = `INSERT INTO `+s.q.meta+` (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, []any{metaKeyCheck, next}
	}
	n, err := s.write(ctx, name, func(tx *writeTx) (int64, error) {
		res, err := tx.tx.ExecContext(bg, query, args...)
		if err != nil {
			return 0, wrap(name, err)
		}
		return res.RowsAffected()
	})
	return n > 0, err
}

// SetDigest replaces the digest of token id with next if it is still prev.
// It returns an error wrapping patkit.ErrNotFound if the token does not
// exist or its digest is not prev, and patkit.ErrConflict if another token
// has next.
func (s *Store) SetDigest(ctx context.Context, id int64, prev, next []byte) error {
	name := fmt.Sprintf("set digest of token %d", id)
	if prev == nil {
		prev = []byte{}
	}
	if next == nil {
		next = []byte{}
	}
	_, err := s.write(ctx, name, func(tx *writeTx) (int64, error) {
		res, err := tx.tx.ExecContext(bg, `UPDATE `+s.q.table+` SET digest = ? WHERE id = ? AND digest = ?`, next, id, prev)
		if isUnique(err) {
			return 0, fmt.Errorf("sqlitestore: %s: digest exists: %w", name, patkit.ErrConflict)
		}
		return 0, mustAffect(res, err, name)
	})
	return err
}

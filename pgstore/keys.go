package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/patkit/patkit"
)

var _ patkit.KeyStore = (*Store)(nil)

// keyCheckName is the settings row of the key check value.
const keyCheckName = "key_check"

// KeyCheck implements patkit.KeyStore.
func (s *Store) KeyCheck(ctx context.Context) ([]byte, error) {
	var v []byte
	err := s.pool.QueryRow(ctx, `SELECT value FROM `+s.q.settings+` WHERE name = $1`, keyCheckName).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("key check", err)
	}
	return v, nil
}

// SwapKeyCheck implements patkit.KeyStore, in one statement: of concurrent
// first stores on any number of pools, exactly one inserts the row.
func (s *Store) SwapKeyCheck(ctx context.Context, prev, next []byte) (bool, error) {
	var (
		sql  string
		args []any
	)
	if prev == nil {
		sql = `INSERT INTO ` + s.q.settings + ` (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`
		args = []any{keyCheckName, next}
	} else {
		sql = `UPDATE ` + s.q.settings + ` SET value = $3 WHERE name = $1 AND value = $2`
		args = []any{keyCheckName, prev, next}
	}
	tag, err := s.pool.Exec(ctx, sql, args...)
	if err != nil {
		return false, wrap("swap key check", err)
	}
	return tag.RowsAffected() == 1, nil
}

// SetDigest implements patkit.KeyStore.
func (s *Store) SetDigest(ctx context.Context, id int64, prev, next []byte) error {
	tag, err := s.pool.Exec(ctx, `UPDATE `+s.q.tokens+` SET digest = $3 WHERE id = $1 AND digest = $2`, id, prev, next)
	if err != nil {
		return wrap("set digest", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: set digest %d: %w", id, patkit.ErrNotFound)
	}
	return nil
}

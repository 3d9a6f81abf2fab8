package sqlitestore

import (
	"context"
	"database/sql"
	"strings"
)

// namesEvery is how many tokens a Store inserts between two indexings of
// the names of the new ones in tokens_fts (migration 0014). A search of
// all tokens by words reads the tokens not yet indexed from the table, by
// ID: at most about that many, and those other processes created.
const namesEvery = 256

// metaNamesIndexed names, in patkit_meta, the highest token ID whose name
// tokens_fts holds, and every lower one's.
const metaNamesIndexed = "names_indexed"

// unindexedNames is the condition on table, the Store's tokens table with
// its prefix, that keeps the tokens above the highest ID whose name
// tokens_fts holds: those indexNames adds, and those a search reads from
// the table.
func unindexedNames(table string) string {
	meta := strings.TrimSuffix(table, "tokens") + "patkit_meta" // as newQueries names them
	return "id > coalesce((SELECT value FROM " + meta + " WHERE name = '" + metaNamesIndexed + "'), 0)"
}

// indexNames adds to tokens_fts the names of the tokens above the ID
// recorded in patkit_meta, and records the highest, with exec, in the
// caller's write transaction. Tokens are inserted by ID (one writer at a
// time, in any process), so those above the ID are all that is missing.
// It returns the number of names indexed.
func (s *Store) indexNames(ctx context.Context, exec func(ctx context.Context, query string, args ...any) (sql.Result, error)) (int64, error) {
	res, err := exec(ctx, `INSERT INTO `+s.q.names+` (rowid, name_folded)
		SELECT id, name_folded FROM `+s.q.table+` WHERE `+unindexedNames(s.q.table)+` ORDER BY id`)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return 0, err
	}
	_, err = exec(ctx, `INSERT INTO `+s.q.meta+` (name, value)
		SELECT ?, max(id) FROM `+s.q.table+` WHERE true
		ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)`, metaNamesIndexed)
	return n, err
}

// indexNamesOp returns the write that indexes the names of the tokens
// created since the last time (indexNames). It runs in a batch of writes,
// after them, so that the tokens the batch inserts are indexed with it.
func (s *Store) indexNamesOp() *writeOp {
	const name = "index token names"
	return &writeOp{ctx: bg, name: name, done: make(chan struct{}), run: func(tx *writeTx) (int64, error) {
		if _, err := s.indexNames(bg, tx.tx.ExecContext); err != nil {
			return 0, wrap(name, err)
		}
		return 0, nil
	}}
}

package sqlitestore

import (
	"context"
	"database/sql"
	"strings"
)

// namesEvery is how many tokens a Store inserts between two indexings of
// the names of the new ones in tokens_fts (migration 0014) and
// tokens_words (0018). A search of all tokens by words reads the tokens
// not yet indexed from the table, by ID: at most about that many, and
// those other processes created.
const namesEvery = 256

// The names, in patkit_meta, of the highest token ID whose name tokens_fts
// holds, and every lower one's, and of the same of tokens_words.
const (
	metaNamesIndexed = "names_indexed"
	metaWordsIndexed = "words_indexed"
)

// unindexedNames is the condition on table, the Store's tokens table with
// its prefix, that keeps the tokens above the highest ID whose name
// tokens_fts holds: those indexNames adds, and those a search reads from
// the table.
func unindexedNames(table string) string { return unindexed(table, metaNamesIndexed) }

// unindexed is the condition on table that keeps the tokens above the ID
// patkit_meta records under key.
func unindexed(table, key string) string {
	meta := strings.TrimSuffix(table, "tokens") + "patkit_meta" // as newQueries names them
	return "id > coalesce((SELECT value FROM " + meta + " WHERE name = '" + key + "'), 0)"
}

// indexNames adds to tokens_fts the names of the tokens above the ID
// recorded in patkit_meta, and to tokens_words the words of those above
// its own, and records the highest, with exec, in the caller's write
// transaction. Tokens are inserted by ID (one writer at a time, in any
// process), so those above the ID are all that is missing. It returns the
// number of names indexed in tokens_fts.
func (s *Store) indexNames(ctx context.Context, exec func(ctx context.Context, query string, args ...any) (sql.Result, error)) (int64, error) {
	// Each folded name split at its spaces, and each of its words of 3
	// characters or more counted once: the name quoted as a JSON string
	// (whose escapes hold no space), each space made the end of one
	// string and the start of the next, is the JSON array of its pieces,
	// as migration 0020's triggers split the name of a token that leaves.
	// At 1,000,000 names, 3.7 s where a recursive query of substr and
	// instr took 6.4 s (sqlite3 3.40.1).
	if _, err := exec(ctx, `INSERT INTO `+s.q.tables.Words+` (word, n)
		SELECT word, count(*) FROM (SELECT DISTINCT t.id, j.value AS word FROM `+s.q.table+` AS t,
			json_each('[' || replace(json_quote(t.name_folded), ' ', '","') || ']') AS j
			-- t.id: json_each has an id column of its own.
			WHERE t.`+unindexed(s.q.table, metaWordsIndexed)+` AND length(j.value) >= 3) WHERE true GROUP BY word
		ON CONFLICT (word) DO UPDATE SET n = n + excluded.n`); err != nil {
		return 0, err
	}
	if err := s.indexed(ctx, exec, metaWordsIndexed); err != nil {
		return 0, err
	}
	res, err := exec(ctx, `INSERT INTO `+s.q.names+` (rowid, name_folded)
		SELECT id, name_folded FROM `+s.q.table+` WHERE `+unindexedNames(s.q.table)+` ORDER BY id`)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return 0, err
	}
	return n, s.indexed(ctx, exec, metaNamesIndexed)
}

// indexed records in patkit_meta, under key, the highest token ID (0 for
// none, as none recorded).
func (s *Store) indexed(ctx context.Context, exec func(ctx context.Context, query string, args ...any) (sql.Result, error), key string) error {
	_, err := exec(ctx, `INSERT INTO `+s.q.meta+` (name, value)
		SELECT ?, coalesce(max(id), 0) FROM `+s.q.table+` WHERE true
		ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)`, key)
	return err
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

package pgstore

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/patkit/patkit"
)

var _ patkit.FamilyRevoker = (*Store)(nil)

// familyQuery is the statement of RevokeDescendants on the table tokens.
// family is the family below the token $1, walked through the index on
// previous_id and only towards larger IDs, so that a cycle edited in by
// hand ends the walk, as the statement's snapshot shows it; r revokes its
// unrevoked members. It returns a row for each member the snapshot shows
// unrevoked: its ID, whether the statement revoked it, and the
// notification of its ID on the channel $2 if it did, as Revoke sends it,
// delivered when the transaction commits. A member not revoked by the
// statement was revoked by a transaction that committed while the
// statement waited for its lock.
func familyQuery(tokens string) string {
	return `WITH RECURSIVE family(id, revoked) AS (
			SELECT id, revoked FROM ` + tokens + ` WHERE previous_id = $1 AND id > $1
			UNION ALL
			SELECT c.id, c.revoked FROM ` + tokens + ` c
			JOIN family f ON c.previous_id = f.id AND c.id > f.id
		), r AS (
			UPDATE ` + tokens + ` SET revoked = true, revoked_at = $3, rotated = false
			WHERE id IN (SELECT id FROM family WHERE NOT revoked) AND NOT revoked
			RETURNING id
		)
		SELECT f.id, r.id IS NOT NULL,
			CASE WHEN r.id IS NOT NULL THEN pg_notify($2, r.id::text) END
		FROM family f LEFT JOIN r ON r.id = f.id
		WHERE NOT f.revoked`
}

// familyGraceQuery is the statement that ends the grace of the family
// below $1 (its rotated members), of $1 itself and of its rotated-out
// ancestors, notifying each on the channel $2. The IDs are one IN list (a
// union), which the primary key serves; an OR of IN lists reads the
// whole table.
func familyGraceQuery(tokens string) string {
	return `WITH RECURSIVE family(id) AS (
			SELECT id FROM ` + tokens + ` WHERE previous_id = $1 AND id > $1
			UNION ALL
			SELECT c.id FROM ` + tokens + ` c JOIN family f ON c.previous_id = f.id AND c.id > f.id
		), up(id) AS (
			SELECT previous_id FROM ` + tokens + ` WHERE id = $1 AND previous_id < $1
			UNION ALL
			SELECT p.previous_id FROM ` + tokens + ` p JOIN up ON p.id = up.id
			WHERE p.rotated AND p.previous_id < p.id
		), g AS (
			UPDATE ` + tokens + ` SET rotated = false
			WHERE id IN (SELECT $1::bigint UNION ALL SELECT id FROM family UNION ALL SELECT id FROM up) AND rotated
			RETURNING id
		)
		SELECT pg_notify($2, g.id::text) FROM g`
}

// RevokeDescendants revokes at the time at every unrevoked token
// descending from token id through rotation (previous_id links to larger
// IDs only), and ends the grace of the whole family (its rotated members,
// id and id's rotated-out ancestors), in one transaction, and returns their IDs in increasing order once it has
// committed. Each revoked ID is notified to the watchers of the schema
// (see Watch) when the transaction commits, never if it rolls back. An
// unknown or childless id revokes nothing and returns no error.
//
// The transaction is READ COMMITTED, and repeats the statement while a
// member it found unrevoked was revoked by another transaction as it
// waited for the member's lock: that may be a Rotate, whose successor the
// statement's snapshot does not show, but the next statement's does. Once
// a statement revoked every member it found unrevoked, each member is
// revoked by a committed transaction (whose successor, if a rotation's,
// was in the snapshot) or locked by this one (a rotation of it waits, then
// finds it revoked): no successor escapes.
func (s *Store) RevokeDescendants(ctx context.Context, id int64, at time.Time) (_ []int64, err error) {
	const op = "revoke descendants"
	if err := s.pool.check(ctx); err != nil {
		return nil, wrap(op, err)
	}
	tx, err := s.pool.p.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return nil, wrap(op, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	query := familyQuery(s.q.tokens)
	var revoked []int64
	for again := true; again; {
		again = false
		rows, err := tx.Query(ctx, query, id, s.channel, at)
		if err != nil {
			return nil, wrap(op, err)
		}
		for rows.Next() {
			var (
				r   int64
				now bool
			)
			if err := rows.Scan(&r, &now, nil); err != nil {
				rows.Close()
				return nil, wrap(op, err)
			}
			if now {
				revoked = append(revoked, r)
			} else {
				again = true
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, wrap(op, err)
		}
	}
	// Every member is now revoked, by this transaction (which holds its
	// lock) or by one committed: none can be rotated any more, and this
	// statement's snapshot shows the whole family.
	if _, err := tx.Exec(ctx, familyGraceQuery(s.q.tokens), id, s.channel); err != nil {
		return nil, wrap(op, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, wrap(op+": commit", err)
	}
	slices.Sort(revoked)
	return revoked, nil
}

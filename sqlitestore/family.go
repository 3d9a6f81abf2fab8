package sqlitestore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/patkit/patkit"
)

var _ patkit.FamilyRevoker = (*Store)(nil)

// familyCTE is the family below the token ?1, walked through the index
// on previous_id and only towards larger IDs, so that a cycle edited in by
// hand ends the walk.
func familyCTE(table string) string {
	return `WITH RECURSIVE family(id) AS (
			SELECT id FROM ` + table + ` WHERE previous_id = ?1 AND id > ?1
			UNION ALL
			SELECT t.id FROM ` + table + ` t JOIN family f ON t.previous_id = f.id AND t.id > f.id
		)`
}

// familyQuery is the statement of RevokeDescendants on table that revokes
// the family's unrevoked members at ?2 and returns their IDs. Each
// revoked row fires the trigger that logs it for Watch.
func familyQuery(table string) string {
	return familyCTE(table) + `
		UPDATE ` + table + ` SET revoked = 1, revoked_at = ?2, rotated = 0
		WHERE id IN (SELECT id FROM family) AND revoked = 0
		RETURNING id`
}

// familyGraceQuery is the statement that ends the grace of the family's
// rotated members and of the token ?1 itself (the trigger logs them for
// Watch too).
func familyGraceQuery(table string) string {
	return familyCTE(table) + `
		UPDATE ` + table + ` SET rotated = 0
		WHERE id IN (SELECT ?1 UNION ALL SELECT id FROM family) AND rotated <> 0`
}

// RevokeDescendants revokes at the time at every unrevoked token
// descending from token id through rotation (previous_id links to larger
// IDs only), and ends the grace of the whole family (the descendants, id
// and its rotated-out ancestors), in one write of the group commit like
// Revoke, and returns the IDs it revoked in increasing order once it has
// committed. Every process watching the database (Watch) is told of each.
// An unknown or childless id revokes nothing and returns no error.
func (s *Store) RevokeDescendants(ctx context.Context, id int64, at time.Time) ([]int64, error) {
	name := fmt.Sprintf("revoke descendants of token %d", id)
	query, grace := familyQuery(s.q.table), familyGraceQuery(s.q.table)
	var revoked []int64
	_, err := s.writeRevoking(ctx, name, func(tx *writeTx) (int64, error) {
		revoked = revoked[:0] // a write that runs again, alone, starts over
		if _, err := tx.tx.ExecContext(bg, grace, id); err != nil {
			return 0, wrap(name, err)
		}
		if _, err := tx.exec(&tx.s.endGraceStmt, id); err != nil {
			return 0, wrap(name, err)
		}
		rows, err := tx.tx.QueryContext(bg, query, id, at.UnixMicro())
		if err != nil {
			return 0, wrap(name, err)
		}
		defer rows.Close()
		for rows.Next() {
			var r int64
			if err := rows.Scan(&r); err != nil {
				return 0, wrap(name, err)
			}
			revoked = append(revoked, r)
		}
		if err := rows.Err(); err != nil {
			return 0, wrap(name, err)
		}
		return 0, nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(revoked)
	return revoked, nil
}

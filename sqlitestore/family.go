package sqlitestore

import (
	"context"
	"fmt"
	"slices"

	"github.com/patkit/patkit"
)

var _ patkit.FamilyRevoker = (*Store)(nil)

// familyQuery is the statement of RevokeDescendants on table: the family
// below the token ?1, walked through the index on previous_id and only
// towards larger IDs, so that a cycle edited in by hand ends the walk, then
// its unrevoked members revoked. Each revoked row fires the trigger that
// logs it for Watch.
func familyQuery(table string) string {
	return `WITH RECURSIVE family(id) AS (
			SELECT id FROM ` + table + ` WHERE previous_id = ?1 AND id > ?1
			UNION ALL
			SELECT t.id FROM ` + table + ` t JOIN family f ON t.previous_id = f.id AND t.id > f.id
		)
		UPDATE ` + table + ` SET revoked = 1 WHERE id IN (SELECT id FROM family) AND revoked = 0
		RETURNING id`
}

// RevokeDescendants revokes every unrevoked token descending from token
// id through rotation (previous_id links to larger IDs only) in one
// statement, one write of the group commit like Revoke, and returns their
// IDs in increasing order once it has committed. Every process watching
// the database (Watch) is told of each. An unknown or childless id revokes
// nothing and returns no error.
func (s *Store) RevokeDescendants(ctx context.Context, id int64) ([]int64, error) {
	name := fmt.Sprintf("revoke descendants of token %d", id)
	query := familyQuery(s.q.table)
	var revoked []int64
	_, err := s.writeRevoking(ctx, name, func(tx *writeTx) (int64, error) {
		revoked = revoked[:0] // a write that runs again, alone, starts over
		rows, err := tx.tx.QueryContext(bg, query, id)
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

package pgstore

import "github.com/patkit/patkit"

// ListSQL exposes the SQL of List to the EXPLAIN test.
func (s *Store) ListSQL(q *patkit.Query) (page, count string, args []any) { return s.listSQL(q) }

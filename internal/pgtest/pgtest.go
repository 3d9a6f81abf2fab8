// Package pgtest holds what the tests that use PostgreSQL share: dropping,
// when a test ends, what it created.
package pgtest

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// AtEnd runs stmt (a DROP of what the test created) on a connection of
// its own to dsn when t ends, after the cleanups registered later (a
// Store's Close), and fails t if it cannot.
func AtEnd(t testing.TB, dsn, stmt string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("%s: %v", stmt, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Errorf("%s: %v", stmt, err)
		}
	})
}

// DropSchemaAtEnd drops schema and everything in it when t ends.
func DropSchemaAtEnd(t testing.TB, dsn, schema string) {
	AtEnd(t, dsn, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
}

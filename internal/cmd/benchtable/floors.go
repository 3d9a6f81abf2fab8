package main

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// rowPGFloor measures what every PostgreSQL row pays whatever patkit
// does, on one connection of its own: a round trip (SELECT 1) if commit
// is false, else a one-row INSERT and its commit into a table of two
// columns, durable as the server is configured, in a schema of its own
// that it drops.
func rowPGFloor(commit bool) func(e *env) (result, error) {
	return func(e *env) (result, error) {
		conn, err := pgx.Connect(e.ctx, e.cfg.pgDSN)
		if err != nil {
			return result{}, err
		}
		defer conn.Close(context.Background())
		query := "SELECT 1"
		if commit {
			schema := pgx.Identifier{fmt.Sprintf("patkit_benchtable_floor_%d", os.Getpid())}.Sanitize()
			if _, err := conn.Exec(e.ctx, "CREATE SCHEMA "+schema+"; CREATE TABLE "+schema+".t (id bigserial PRIMARY KEY, v text)"); err != nil {
				return result{}, err
			}
			defer conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			query = "INSERT INTO " + schema + ".t (v) VALUES ('benchtable')"
		}
		r, err := bench(func(b *testing.B) error {
			for range b.N {
				if _, err := conn.Exec(e.ctx, query); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return result{}, err
		}
		return result{measured: fmt.Sprintf("%s (%s each)", rate(r.perSecond()), dur(r.ns)), reference: "–", ratio: "–"}, nil
	}
}

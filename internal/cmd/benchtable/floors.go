package main

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// rowPGFloor measures what every PostgreSQL row pays whatever patkit
// does (see pgFloor).
func rowPGFloor(commit bool) func(e *env) (result, error) {
	return func(e *env) (result, error) {
		r, err := e.pgFloor(commit)
		if err != nil {
			return result{}, err
		}
		return result{measured: fmt.Sprintf("%s (%s each)", rate(r.perSecond()), dur(r.ns)), reference: "–", ratio: "–"}, nil
	}
}

// commitReference measures a one-row commit (see pgFloor) right after
// a row of sequential writes, as that row's reference: the disk's and the
// processors' speed move between the table's first PostgreSQL rows and
// its last (a checkpoint of the dataset's load, the machine's
// neighbours).
func (e *env) commitReference() (string, error) {
	r, err := e.pgFloor(true)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("a one-row commit right after: %s", dur(r.ns)), nil
}

// pgFloor measures, on one connection of its own, a round trip (SELECT 1)
// if commit is false, else a one-row INSERT and its commit into a table
// of two columns, durable as the server is configured, in a schema of
// its own that it drops.
func (e *env) pgFloor(commit bool) (benchResult, error) {
	conn, err := pgx.Connect(e.ctx, e.cfg.pgDSN)
	if err != nil {
		return benchResult{}, err
	}
	defer conn.Close(context.Background())
	query := "SELECT 1"
	if commit {
		schema := pgx.Identifier{fmt.Sprintf("patkit_benchtable_floor_%d", os.Getpid())}.Sanitize()
		if _, err := conn.Exec(e.ctx, "CREATE SCHEMA "+schema+"; CREATE TABLE "+schema+".t (id bigserial PRIMARY KEY, v text)"); err != nil {
			return benchResult{}, err
		}
		defer conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		query = "INSERT INTO " + schema + ".t (v) VALUES ('benchtable')"
	}
	return bench(func(b *testing.B) error {
		for range b.N {
			if _, err := conn.Exec(e.ctx, query); err != nil {
				return err
			}
		}
		return nil
	})
}

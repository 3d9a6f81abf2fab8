package pgstore_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/pgstore"
)

// A host that manages its schema with its own tooling takes the SQL from
// MigrationSQL (or the files of Migrations) and applies it with
// search_path set to the schema it gives in Options.
func ExampleMigrationSQL() {
	sc := bufio.NewScanner(strings.NewReader(pgstore.MigrationSQL()))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "CREATE TABLE") {
			fmt.Println(sc.Text())
		}
	}
	// Output:
	// CREATE TABLE IF NOT EXISTS tokens (
	// CREATE TABLE IF NOT EXISTS settings (
}

// Open a Store in a schema of its own, migrating it, and use it. A
// patkit.Service normally makes these calls.
func ExampleOpen() {
	ctx := context.Background()
	s, err := pgstore.Open(ctx, os.Getenv("DATABASE_URL"), &pgstore.Options{Schema: "patkit"})
	if errors.Is(err, patkit.ErrUnavailable) {
		log.Fatalf("database unreachable, retry later: %v", err)
	}
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	now := time.Now().UTC()
	digest := sha256.Sum256([]byte("not how the Service digests secrets"))
	tok := &patkit.Token{
		UserID:    1,
		Name:      "deploy",
		Scopes:    []patkit.Scope{patkit.ScopeReadAPI},
		CreatedAt: now,
		ExpiresAt: patkit.Date(now.AddDate(0, 1, 0)),
		Digest:    digest[:],
	}
	if err := s.Create(ctx, tok); err != nil {
		log.Fatal(err)
	}
	got, err := s.GetByDigest(ctx, digest[:])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.ID == tok.ID, got.Active(now))
}

// New wraps a pool the host already has and does no I/O; Close leaves the
// pool open. The host migrates at every start (Migrate is idempotent and
// safe from several instances at once), or with its own tooling.
func ExampleNew() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	s, err := pgstore.New(pool, &pgstore.Options{Schema: "patkit"}) // no I/O
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close() // ends s.Watch; leaves pool open
	if err := s.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	_ = s // give s to patkit.New
}

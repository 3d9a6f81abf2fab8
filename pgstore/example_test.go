package pgstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"

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
	// CREATE TABLE IF NOT EXISTS token_counts (
	// CREATE TABLE IF NOT EXISTS token_expiry_counts (
	// CREATE TABLE IF NOT EXISTS token_zones (
	// CREATE TABLE IF NOT EXISTS token_zone_names (
	// CREATE TABLE IF NOT EXISTS token_use_counts (
	// CREATE TABLE IF NOT EXISTS token_words (
	// CREATE TABLE IF NOT EXISTS token_words_mark (
}

// Open a Store in a schema of its own, migrating it, and give it to a
// Service; run Watch so that revocations on other instances reach this
// one's authentication cache at once.
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

	key, _, err := patkit.LoadOrCreateKey("patkit.key") // the same key file on every instance
	if err != nil {
		log.Fatal(err)
	}
	dir := new(patkit.MemDirectory) // the host's users
	dir.AddUser(patkit.User{ID: 1, Username: "root", Admin: true})
	svc, err := patkit.New(s, dir, key, nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := svc.VerifyKey(ctx); err != nil {
		log.Fatal(err) // patkit.ErrKeyMismatch: another key made these tokens
	}
	go svc.Watch(ctx)

	root, err := svc.Principal(ctx, 1, false)
	if err != nil {
		log.Fatal(err)
	}
	_, secret, err := svc.CreateToken(ctx, root, 1, patkit.TokenOptions{Name: "deploy", Scopes: []patkit.Scope{patkit.ScopeReadAPI}})
	if err != nil {
		log.Fatal(err)
	}
	p, err := svc.Authenticate(ctx, secret, patkit.AuthRequest{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.User().Username, p.Token().Name)
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

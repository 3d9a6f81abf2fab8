package sqlitestore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/sqlitestore"
)

// New wraps a *sql.DB that the host opened (here with the recommended DSN)
// and does no I/O; Migrate then creates or upgrades the schema, which is
// safe to do at every start, from every process. Close leaves the host's
// database open.
func ExampleNew() {
	dir, err := os.MkdirTemp("", "sqlitestore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	db, err := sql.Open("sqlite", sqlitestore.DSN(filepath.Join(dir, "app.db")))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	ctx := context.Background()
	s, err := sqlitestore.New(db, &sqlitestore.Options{TablePrefix: "patkit_"})
	if err != nil {
		log.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM patkit_tokens`).Scan(&n); err != nil {
		log.Fatal(err)
	}
	fmt.Println("tokens:", n)

	if err := s.Close(); err != nil {
		log.Fatal(err)
	}
	_, err = s.Get(ctx, 1)
	fmt.Println("after Close, unavailable:", errors.Is(err, patkit.ErrUnavailable))
	fmt.Println("host's database still open:", db.PingContext(ctx) == nil)
	// Output:
	// tokens: 0
	// after Close, unavailable: true
	// host's database still open: true
}

// Every process that shares a database file runs Watch, through
// patkit.Service.Watch, so that a token revoked by one leaves the others'
// authentication caches at once. Here two Stores on one file stand for two
// processes.
func ExampleStore_Watch() {
	dir, err := os.MkdirTemp("", "sqlitestore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "patkit.db")

	ctx := context.Background()
	a, err := sqlitestore.Open(ctx, path, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	b, err := sqlitestore.Open(ctx, path, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	wctx, cancel := context.WithCancel(ctx)
	started := make(chan struct{}, 1)
	revoked := make(chan int64, 1)
	watched := make(chan error, 1)
	go func() {
		watched <- b.Watch(wctx,
			func(id int64) { revoked <- id },
			func() { // stale: the feed (re)started; a Service empties its cache
				select {
				case started <- struct{}{}:
				default:
				}
			})
	}()
	<-started

	tok := &patkit.Token{UserID: 1, Name: "ci", CreatedAt: time.Now(), Digest: []byte("digest of ci")}
	if err := a.Create(ctx, tok); err != nil {
		log.Fatal(err)
	}
	if err := a.Revoke(ctx, tok.ID, time.Now()); err != nil {
		log.Fatal(err)
	}
	fmt.Println("b learns that token", <-revoked, "was revoked through a")

	cancel()
	fmt.Println("Watch returned:", <-watched)
	// Output:
	// b learns that token 1 was revoked through a
	// Watch returned: context canceled
}

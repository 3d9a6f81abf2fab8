// Command server is a runnable patkit server: GitLab's token API under
// /api/v4 on a SQLite database (or PostgreSQL), with a small demo directory
// of users, one project and one group.
//
//	go run ./examples/server -addr 127.0.0.1:8080 -db patkit.db -root-token-file root.token
//
// Those are the defaults, so "go run ./examples/server" alone works.
//
// With -db postgres://... the tokens live in PostgreSQL (package pgstore),
// and several servers on one database behave as one: they share the
// instance key (-key-file), derive project and group bot users from the
// shared tokens, and drop a token revoked on any of them from their
// authentication caches through LISTEN/NOTIFY (Service.Watch).
//
//	go run ./examples/server -db 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable' -key-file patkit.key
//
// On first start the server creates an administrator token for user 1
// (root) with the scopes api, read_api, read_user, sudo and admin_mode,
// writes its plaintext to the root-token file (mode 0600) and logs where it
// is. On later starts a token in that file that still authenticates is
// reused; otherwise a new one replaces it.
//
// # Files
//
//   - <db>: the SQLite database holding the tokens (digests only).
//   - the instance key (-key-file; default <db>.key for SQLite, patkit.key
//     for PostgreSQL): 32 random bytes created with mode 0600 on first
//     start. Every token digest is keyed with it: keep it with the
//     database and secret; lose it and no token authenticates. The server
//     refuses to start with a new key over a database that holds tokens.
//   - the root-token file.
//
// # Demo directory
//
// Users 1 root (administrator), 2 alice and 3 bob; project 1 acme/widgets
// with alice Maintainer (40) and bob Developer (30); group 1 acme with alice
// Owner (50) and bob Reporter (20). The bot users of project and group
// access tokens are derived from the tokens in the database (user ID,
// resource and access level are stored with every such token), so those
// tokens keep working across restarts and on every server of a database.
//
// Instance settings are GitLab's defaults: expiry required, at most 365
// days, impersonation enabled, prefix glpat-.
//
// Requests are logged with log/slog to stderr (credentials in the query
// string redacted); SIGINT and SIGTERM shut the server down gracefully.
package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/httpapi"
	"github.com/patkit/patkit/pgstore"
	"github.com/patkit/patkit/sqlitestore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// rootScopes are the scopes of the administrator token created on first
// start.
var rootScopes = []patkit.Scope{
	patkit.ScopeAPI, patkit.ScopeReadAPI, patkit.ScopeReadUser, patkit.ScopeSudo, patkit.ScopeAdminMode,
}

// run is the server: it parses args, serves until ctx is done, then shuts
// down gracefully. Logs go to stderr.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	fl := flag.NewFlagSet("server", flag.ContinueOnError)
	fl.SetOutput(stderr)
	addr := fl.String("addr", "127.0.0.1:8080", "listen address")
	dbPath := fl.String("db", "patkit.db", "SQLite database file, or a postgres:// DSN")
	keyFile := fl.String("key-file", "", "instance key file (default <db>.key for SQLite, patkit.key for PostgreSQL)")
	rootFile := fl.String("root-token-file", "root.token", "file holding the administrator token")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fl.Args())
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	var store patkit.Store
	postgres := strings.HasPrefix(*dbPath, "postgres://") || strings.HasPrefix(*dbPath, "postgresql://")
	if postgres {
		ps, err := pgstore.Open(ctx, *dbPath, nil)
		if err != nil {
			return err
		}
		defer ps.Close()
		store = ps
		if *keyFile == "" {
			*keyFile = "patkit.key"
		}
	} else {
		ss, err := sqlitestore.Open(ctx, *dbPath, nil)
		if err != nil {
			return err
		}
		defer ss.Close()
		store = ss
		if *keyFile == "" && *dbPath != ":memory:" {
			*keyFile = *dbPath + ".key"
		}
	}
	key, err := loadKey(ctx, *keyFile, store)
	if err != nil {
		return err
	}
	dir := &directory{MemDirectory: demoDirectory(), store: store}
	svc, err := patkit.New(store, dir, key, nil)
	if err != nil {
		return err
	}
	if postgres {
		// Revocations on other servers of the database reach this one's
		// authentication cache at once.
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			if err := svc.Watch(wctx); err != nil && wctx.Err() == nil {
				log.Error("revocation feed stopped", "err", err)
			}
		}()
	}
	created, err := ensureRootToken(ctx, svc, dir, *rootFile)
	if err != nil {
		return err
	}
	where, err := filepath.Abs(*rootFile)
	if err != nil {
		where = *rootFile
	}
	log.Info("root token", "file", where, "created", created)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           httpapi.New(svc, &httpapi.Options{Logger: log}),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	log.Info("listening", "addr", ln.Addr().String(), "api", "http://"+ln.Addr().String()+"/api/v4/")
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	<-served
	return nil
}

// demoDirectory returns the users, project and group of the demo.
func demoDirectory() *patkit.MemDirectory {
	d := &patkit.MemDirectory{}
	d.AddUser(patkit.User{ID: 1, Username: "root", Name: "Administrator", Admin: true})
	d.AddUser(patkit.User{ID: 2, Username: "alice", Name: "Alice"})
	d.AddUser(patkit.User{ID: 3, Username: "bob", Name: "Bob"})
	d.AddResource(patkit.Resource{Type: patkit.ResourceProject, ID: 1, FullPath: "acme/widgets"})
	d.AddResource(patkit.Resource{Type: patkit.ResourceGroup, ID: 1, FullPath: "acme"})
	d.SetAccess(patkit.ResourceProject, 1, 2, patkit.Maintainer)
	d.SetAccess(patkit.ResourceProject, 1, 3, patkit.Developer)
	d.SetAccess(patkit.ResourceGroup, 1, 2, patkit.Owner)
	d.SetAccess(patkit.ResourceGroup, 1, 3, patkit.Reporter)
	return d
}

// directory is the demo directory plus the bot users of project and group
// access tokens, derived from the tokens in the store: a bot's ID, resource
// and level are stored with its tokens. So bots survive restarts and are
// known to every server sharing the database, with no table of their own.
type directory struct {
	*patkit.MemDirectory
	store patkit.Store
}

// UserByID returns a demo user, or the bot owning tokens in the store.
func (d *directory) UserByID(ctx context.Context, id int64) (*patkit.User, error) {
	u, err := d.MemDirectory.UserByID(ctx, id)
	if !errors.Is(err, patkit.ErrNotFound) {
		return u, err
	}
	t, berr := d.botToken(ctx, id)
	if berr != nil || t == nil {
		return nil, cmp.Or(berr, err)
	}
	bot := patkit.User{ID: id, Username: botUsername(t.ResourceType, t.ResourceID, id), Name: t.Name, Bot: true}
	d.MemDirectory.AddUser(bot) // a bot never changes: ask the store once
	return &bot, nil
}

// AccessLevel returns a member's level; a bot without a membership set in
// memory is a member of its token's resource at the token's level.
func (d *directory) AccessLevel(ctx context.Context, userID int64, r *patkit.Resource) (patkit.AccessLevel, error) {
	l, err := d.MemDirectory.AccessLevel(ctx, userID, r)
	if err != nil || l != patkit.NoAccess {
		return l, err
	}
	t, err := d.botToken(ctx, userID)
	if err != nil || t == nil || t.ResourceType != r.Type || t.ResourceID != r.ID {
		return patkit.NoAccess, err
	}
	return t.AccessLevel, nil
}

// CreateBot returns a new bot user. Its ID is random (2^40 to 2^52, clear
// of the demo users and safe in JSON numbers), so that servers sharing a
// database never hand out the same one.
func (d *directory) CreateBot(_ context.Context, r *patkit.Resource, name string, _ patkit.AccessLevel) (*patkit.User, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	id := int64(1<<40 + binary.BigEndian.Uint64(b[:])%(1<<52-1<<40))
	return &patkit.User{ID: id, Username: botUsername(r.Type, r.ID, id), Name: name, Bot: true}, nil
}

func botUsername(t patkit.ResourceType, resourceID, id int64) string {
	return fmt.Sprintf("%s_%d_bot_%x", t, resourceID, id)
}

// botToken returns the newest resource access token of user id, or nil
// if the user owns none.
func (d *directory) botToken(ctx context.Context, id int64) (*patkit.Token, error) {
	toks, _, err := d.store.List(ctx, &patkit.Query{
		Filter: patkit.Filter{Sort: patkit.SortCreatedDesc, Page: 1, PerPage: 1},
		UserID: id,
		Now:    time.Now(),
	})
	if err != nil || len(toks) == 0 || toks[0].ResourceType == "" {
		return nil, err
	}
	return toks[0], nil
}

// loadKey reads the instance key from path, creating it (32 random bytes,
// mode 0600) if it is missing and the store holds no token yet. An empty
// path (an in-memory database) gives a key that lives as long as the
// process.
func loadKey(ctx context.Context, path string, store patkit.Store) ([]byte, error) {
	key := make([]byte, patkit.MinKeyLen)
	if path == "" {
		_, err := rand.Read(key)
		return key, err
	}
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) < patkit.MinKeyLen {
			return nil, fmt.Errorf("instance key %s: %d bytes, need %d", path, len(b), patkit.MinKeyLen)
		}
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("instance key: %w", err)
	}
	// Tokens digested under a lost key can never authenticate again: do
	// not silently start over them.
	toks, _, err := store.List(ctx, &patkit.Query{Filter: patkit.Filter{Page: 1, PerPage: 1}, Now: time.Now()})
	if err != nil {
		return nil, fmt.Errorf("instance key: %w", err)
	}
	if len(toks) > 0 {
		return nil, fmt.Errorf("instance key %s is missing but the database holds tokens: restore the key or use a new database", path)
	}
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return loadKey(ctx, path, store) // another server created it first
	}
	if err != nil {
		return nil, fmt.Errorf("instance key: %w", err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return nil, fmt.Errorf("instance key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("instance key: %w", err)
	}
	return key, nil
}

// ensureRootToken reuses the token in path if it authenticates, and
// otherwise creates an administrator token for user 1 and writes it there
// with mode 0600. It reports whether it created one.
func ensureRootToken(ctx context.Context, svc *patkit.Service, dir patkit.Directory, path string) (bool, error) {
	if b, err := os.ReadFile(path); err == nil {
		if secret := strings.TrimSpace(string(b)); secret != "" {
			if _, err := svc.Authenticate(ctx, secret, patkit.AuthRequest{}); err == nil {
				return false, nil
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("root token: %w", err)
	}
	root, err := dir.UserByID(ctx, 1)
	if err != nil {
		return false, fmt.Errorf("root token: %w", err)
	}
	_, secret, err := svc.CreateToken(ctx, &patkit.Principal{User: root, Admin: true}, root.ID, patkit.TokenOptions{
		Name:   "root",
		Scopes: rootScopes,
	})
	if err != nil {
		return false, fmt.Errorf("root token: %w", err)
	}
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return false, fmt.Errorf("root token: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil { // an existing file keeps its mode
		return false, fmt.Errorf("root token: %w", err)
	}
	return true, nil
}

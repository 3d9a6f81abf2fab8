// Command server is a runnable patkit server: GitLab's token API under
// /api/v4 on a SQLite database, with a small demo directory of users,
// one project and one group.
//
//	go run ./examples/server -addr 127.0.0.1:8080 -db patkit.db -root-token-file root.token
//
// Those are the defaults, so "go run ./examples/server" alone works.
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
//   - <db>.key: the instance key, 32 random bytes created with mode 0600
//     on first start. Every token digest is keyed with it: keep it with
//     the database and secret; lose it and no token authenticates.
//   - the root-token file.
//
// # Demo directory
//
// Users 1 root (administrator), 2 alice and 3 bob; project 1 acme/widgets
// with alice Maintainer (40) and bob Developer (30); group 1 acme with alice
// Owner (50) and bob Reporter (20). The directory lives in memory; the bot
// users of project and group access tokens are rebuilt at start from the
// tokens in the database (user ID, resource and access level are stored
// with every such token), so those tokens keep working across restarts.
//
// Instance settings are GitLab's defaults: expiry required, at most 365
// days, impersonation enabled, prefix glpat-.
//
// Requests are logged with log/slog to stderr (credentials in the query
// string redacted); SIGINT and SIGTERM shut the server down gracefully.
package main

import (
	"context"
	"crypto/rand"
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
	dbPath := fl.String("db", "patkit.db", "SQLite database file")
	rootFile := fl.String("root-token-file", "root.token", "file holding the administrator token")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fl.Args())
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	key, err := loadKey(*dbPath)
	if err != nil {
		return err
	}
	store, err := sqlitestore.Open(ctx, *dbPath, nil)
	if err != nil {
		return err
	}
	defer store.Close()

	dir := demoDirectory()
	bots, err := restoreBots(ctx, store, dir)
	if err != nil {
		return err
	}
	svc, err := patkit.New(store, dir, key, nil)
	if err != nil {
		return err
	}
	created, err := ensureRootToken(ctx, svc, dir, *rootFile)
	if err != nil {
		return err
	}
	where, err := filepath.Abs(*rootFile)
	if err != nil {
		where = *rootFile
	}
	log.Info("root token", "file", where, "created", created, "bots_restored", bots)

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

// restoreBots adds to dir the bot user of every project and group access
// token in store, as a member of its resource at the token's level, and
// returns how many bots it added. MemDirectory keeps bots in memory only;
// without this their tokens would stop authenticating after a restart. The
// newest token of a bot (the last rotation) gives its name and level.
func restoreBots(ctx context.Context, store patkit.Store, dir *patkit.MemDirectory) (int, error) {
	seen := map[int64]bool{}
	q := &patkit.Query{Filter: patkit.Filter{Page: 1, PerPage: 100}, Now: time.Now()}
	for {
		toks, _, err := store.List(ctx, q)
		if err != nil {
			return 0, fmt.Errorf("restore bot users: %w", err)
		}
		for _, t := range toks {
			if t.ResourceType == "" {
				continue
			}
			seen[t.UserID] = true
			dir.AddUser(patkit.User{
				ID:       t.UserID,
				Username: fmt.Sprintf("%s_%d_bot_%d", t.ResourceType, t.ResourceID, t.UserID),
				Name:     t.Name,
				Bot:      true,
			})
			dir.SetAccess(t.ResourceType, t.ResourceID, t.UserID, t.AccessLevel)
		}
		if len(toks) < q.PerPage {
			return len(seen), nil
		}
		q.Page++
	}
}

// loadKey reads the instance key next to the database, creating it (32
// random bytes, mode 0600) on first start.
func loadKey(dbPath string) ([]byte, error) {
	if dbPath == ":memory:" {
		key := make([]byte, patkit.MinKeyLen)
		_, err := rand.Read(key)
		return key, err
	}
	path := dbPath + ".key"
	key, err := os.ReadFile(path)
	if err == nil {
		if len(key) < patkit.MinKeyLen {
			return nil, fmt.Errorf("instance key %s: %d bytes, need %d", path, len(key), patkit.MinKeyLen)
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("instance key: %w", err)
	}
	if _, err := os.Stat(dbPath); err == nil {
		// A database without its key holds digests nothing can match.
		return nil, fmt.Errorf("instance key %s is missing but database %s exists: restore the key or remove the database", path, dbPath)
	}
	key = make([]byte, patkit.MinKeyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
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

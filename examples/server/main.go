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
// instance key (-key-file), know project and group bot users from the
// shared tokens, and drop a token revoked on any of them from their
// authentication caches through LISTEN/NOTIFY (Service.Watch). Several
// servers on one SQLite file do the same, through SQLite's data_version.
//
//	go run ./examples/server -db 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable' -key-file patkit.key
//
// On first start the server creates an administrator token for user 1
// (root), named "patkit bootstrap", with the scopes api, read_api,
// read_user, sudo and admin_mode, writes its plaintext to the root-token
// file (mode 0600, written whole, never through a link) and logs where it
// is. There is exactly one active bootstrap token: on later starts the one
// in the file is reused; if the file is gone, or holds a bootstrap token
// that was revoked or expired, a new one is created and every other is
// revoked. A file holding anything else is refused, never overwritten.
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
// # Logs
//
// To stderr, as text: at INFO (the default) one line per API request with
// the path redacted of anything shaped like a secret; -log-level WARN keeps
// only what needs attention, as a busy production host would.
//
// # Demo directory
//
// Users 1 root (administrator), 2 alice and 3 bob; project 1 acme/widgets
// with alice Maintainer (40) and bob Developer (30); group 1 acme with alice
// Owner (50) and bob Reporter (20). The directory leaves the bot users of
// project and group access tokens to patkit, which knows them from the
// tokens in the database, so those tokens keep working across restarts and
// on every server of a database.
//
// # Routes
//
//   - /api/v4/...: GitLab's token API (package httpapi).
//   - GET /whoami: an example of the host's own routes, protected by the
//     same tokens with httpapi's RequireScopes (read_user, api or
//     read_api): {"username":"alice"}.
//
// Instance settings are GitLab's defaults: expiry required, at most 365
// days, impersonation enabled, prefix glpat-.
//
// # Limits
//
// A client address that presents 30 failed credentials within 3 minutes
// gets 429 (Retry-After) until the period ends, valid tokens of other
// clients unaffected (httpapi's FailedAuthLimit, 16,384 addresses
// tracked). Request headers must arrive within 10 s and stay under 64 KiB,
// a whole request within 20 s (its body within 10 s); idle connections
// close after 60 s. The server listens on 127.0.0.1: behind reverse
// proxies that append the client's address to X-Forwarded-For, list their
// networks with -trusted-proxies (httpapi.ForwardedFor); the address then
// read is also what tokens created with allowed_cidrs are checked against.
//
// -rotation-grace DURATION (say 30s) lets a rotated token keep working
// that long, so that clients sharing one token that rotate it at once do
// not revoke each other's (patkit.Options.RotationGrace); the default, 0,
// is GitLab's behaviour.
//
// Requests are logged with log/slog to stderr, anything that looks like a
// secret redacted; SIGINT and SIGTERM shut the server down gracefully.
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
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
	grace := fl.Duration("rotation-grace", 0, "how long a rotated token keeps working, e.g. 30s (0: GitLab's behaviour, it fails at once)")
	var proxies cidrList
	fl.Var(&proxies, "trusted-proxies", "comma-separated networks of reverse proxies whose X-Forwarded-For is trusted, e.g. 10.0.0.0/8")
	var level slog.Level
	fl.TextVar(&level, "log-level", slog.LevelInfo, "least level logged: DEBUG, INFO (one line per request), WARN or ERROR")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fl.Args())
	}
	if *grace < 0 {
		return fmt.Errorf("-rotation-grace %v: must not be negative", *grace)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	postgres := strings.HasPrefix(*dbPath, "postgres://") || strings.HasPrefix(*dbPath, "postgresql://")
	store, err := openStore(ctx, *dbPath, postgres)
	if err != nil {
		return err
	}
	defer store.Close()
	if *keyFile == "" && postgres {
		*keyFile = "patkit.key"
	} else if *keyFile == "" && *dbPath != ":memory:" {
		*keyFile = *dbPath + ".key"
	}
	key, err := loadKey(ctx, *keyFile, store)
	if err != nil {
		return err
	}
	svc, err := patkit.New(store, demoDirectory(), key, &patkit.Options{RotationGrace: *grace})
	if err != nil {
		return err
	}
	if err := svc.VerifyKey(ctx); err != nil {
		return fmt.Errorf("instance key %s: %w", *keyFile, err)
	}
	// Revocations by other servers of the database (PostgreSQL) or other
	// processes on the file (SQLite) reach this one's authentication cache
	// within milliseconds.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		if err := svc.Watch(wctx); err != nil && wctx.Err() == nil {
			log.Error("revocation feed stopped", "err", err)
		}
	}()
	created, err := ensureRootToken(ctx, svc, *rootFile, log)
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
		Handler: routes(svc, log, proxies),
		// What httpapi cannot bound itself (see its package doc): slow
		// headers, whole requests (httpapi cuts bodies at 10 s within
		// this), idle keep-alive connections, and request lines and
		// headers beyond what a GitLab client sends (1 MiB by default).
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       20 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
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

// openStore opens the database: PostgreSQL for a postgres:// DSN, else a
// SQLite file.
func openStore(ctx context.Context, db string, postgres bool) (interface {
	patkit.Store
	io.Closer
}, error) {
	if postgres {
		return pgstore.Open(ctx, db, nil)
	}
	return sqlitestore.Open(ctx, db, nil)
}

// routes returns the server's handler: GitLab's token API under /api/v4/,
// and GET /whoami, a route of the host's own protected by the same tokens
// (it needs read_user, or api, or read_api).
func routes(svc *patkit.Service, log *slog.Logger, trustedProxies []netip.Prefix) http.Handler {
	var clientIP func(*http.Request) string // the connection's address
	if len(trustedProxies) > 0 {
		clientIP = httpapi.ForwardedFor(trustedProxies)
	}
	api := httpapi.New(svc, &httpapi.Options{
		Logger:   log,
		ClientIP: clientIP,
		// The defaults, GitLab's failed-authentication ban threshold: a
		// client address that fails to authenticate 30 times in a
		// 3-minute period gets 429 "Retry later" until the period ends;
		// 16,384 addresses are remembered (about 1.2 MB). The address is
		// the connection's, or with -trusted-proxies the one they
		// forward in X-Forwarded-For.
		FailedAuthLimit: &httpapi.FailedAuthLimit{},
	})
	mux := http.NewServeMux()
	mux.Handle("/api/v4/", api)
	mux.Handle("GET /whoami", api.RequireScopes(patkit.ScopeReadUser)(http.HandlerFunc(whoami)))
	return mux
}

// cidrList is the value of -trusted-proxies: networks, comma-separated,
// each a CIDR prefix or a bare address.
type cidrList []netip.Prefix

func (l *cidrList) String() string {
	s := make([]string, len(*l))
	for i, p := range *l {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

func (l *cidrList) Set(v string) error {
	for part := range strings.SplitSeq(v, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		p, err := patkit.ParseCIDR(part)
		if err != nil {
			return err
		}
		*l = append(*l, p.Masked())
	}
	return nil
}

// whoami answers {"username": ...} for the caller.
func whoami(w http.ResponseWriter, r *http.Request) {
	p, _ := httpapi.PrincipalFrom(r.Context())
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"username": p.User().Username})
}

// demoDirectory returns the users, project and group of the demo. It is a
// patkit.Directory, a patkit.ResourceDirectory, a patkit.UserSearcher and a
// patkit.MembershipDirectory, but deliberately not a patkit.BotDirectory: patkit then manages the bot users of project and
// group access tokens itself, from the tokens in the database, so those
// tokens keep working across restarts and on every server of a database.
func demoDirectory() *directory {
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
	return &directory{d}
}

// directory exposes a MemDirectory's users, resources, user search and
// memberships, and not its bots.
type directory struct{ mem *patkit.MemDirectory }

func (d *directory) SearchUsers(ctx context.Context, q *patkit.UserQuery) ([]*patkit.User, int, error) {
	return d.mem.SearchUsers(ctx, q)
}

func (d *directory) Memberships(ctx context.Context, userID int64, typ patkit.ResourceType, minLevel patkit.AccessLevel, offset, limit int) ([]*patkit.Resource, int, error) {
	return d.mem.Memberships(ctx, userID, typ, minLevel, offset, limit)
}

func (d *directory) UserByID(ctx context.Context, id int64) (*patkit.User, error) {
	return d.mem.UserByID(ctx, id)
}

func (d *directory) UserByUsername(ctx context.Context, name string) (*patkit.User, error) {
	return d.mem.UserByUsername(ctx, name)
}

func (d *directory) Resource(ctx context.Context, viewer *patkit.Principal, typ patkit.ResourceType, ref string) (*patkit.Resource, error) {
	return d.mem.Resource(ctx, viewer, typ, ref)
}

func (d *directory) AccessLevel(ctx context.Context, userID int64, r *patkit.Resource) (patkit.AccessLevel, error) {
	return d.mem.AccessLevel(ctx, userID, r)
}

// loadKey returns the instance key in path, created on first start. An
// empty path (an in-memory database) gives a key that lives as long as the
// process. A new key over a database that holds tokens is refused: tokens
// digested under the lost key could never authenticate again.
func loadKey(ctx context.Context, path string, store patkit.Store) ([]byte, error) {
	if path == "" {
		key := make([]byte, patkit.MinKeyLen)
		_, err := rand.Read(key)
		return key, err
	}
	key, created, err := patkit.LoadOrCreateKey(path)
	if err != nil || !created {
		return key, err
	}
	q := &patkit.Query{}
	q.Normalize()
	toks, _, err := store.List(ctx, q)
	if err == nil && len(toks) > 0 {
		err = fmt.Errorf("instance key %s is missing but the database holds tokens: restore the key or use a new database", path)
	}
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	return key, nil
}

// bootstrapName names the administrator token the server keeps in the
// root-token file.
const bootstrapName = "patkit bootstrap"

// ensureRootToken keeps exactly one active bootstrap token, the one in the
// file at path, and reports whether it created it:
//
//   - a file holding this server's active bootstrap token is kept;
//   - a missing file, or one holding a token this server revoked or let
//     expire, gets a new token (logged), written whole with mode 0600
//     without following links, and every other active bootstrap token is
//     revoked; if the file cannot be written the new token is revoked;
//   - anything else in the file (not a token of this server, or another
//     token) is refused, never overwritten, as is a link or a file others
//     may read.
func ensureRootToken(ctx context.Context, svc *patkit.Service, path string, log *slog.Logger) (bool, error) {
	b, err := patkit.ReadSecretFile(path)
	if err == nil {
		p, aerr := svc.Authenticate(ctx, strings.TrimSpace(string(b)), patkit.AuthRequest{})
		switch {
		case aerr == nil && p.User().ID == 1 && p.Token().Name == bootstrapName:
			return false, nil
		case errors.Is(aerr, patkit.ErrTokenRevoked), errors.Is(aerr, patkit.ErrTokenExpired):
			log.Warn("the root token file holds a revoked or expired token: replacing it", "file", path)
			err = os.Remove(path)
		case aerr == nil, errors.Is(aerr, patkit.ErrUnauthorized), errors.Is(aerr, patkit.ErrForbidden):
			return false, fmt.Errorf("root token file %s does not hold this server's bootstrap token; refusing to overwrite it (move it away to create a new one)", path)
		default:
			err = aerr
		}
	} else if errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	if err != nil {
		return false, fmt.Errorf("root token: %w", err)
	}

	root, err := svc.Principal(ctx, 1, true)
	if err != nil {
		return false, fmt.Errorf("root token: %w", err)
	}
	tok, secret, err := svc.CreateToken(ctx, root, 1, patkit.TokenOptions{Name: bootstrapName, Scopes: rootScopes})
	if err != nil {
		return false, fmt.Errorf("root token: %w", err)
	}
	if err := patkit.WriteSecretFile(path, []byte(secret+"\n")); err != nil {
		// Nobody holds the secret: it must not stay usable.
		if rerr := svc.RevokeToken(context.WithoutCancel(ctx), root, tok.ID); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return false, fmt.Errorf("root token: %w", err)
	}
	return true, revokeBootstraps(ctx, svc, root, tok.ID)
}

// revokeBootstraps revokes every active bootstrap token but keep.
func revokeBootstraps(ctx context.Context, svc *patkit.Service, root *patkit.Principal, keep int64) error {
	f := patkit.Filter{State: patkit.StateActive, Search: `"` + bootstrapName + `"`, PerPage: 100}
	for f.Page = 1; ; f.Page++ {
		page, err := svc.ListUserTokens(ctx, root, 1, f)
		if err != nil {
			return fmt.Errorf("root token: %w", err)
		}
		for _, t := range page.Tokens {
			if t.Name == bootstrapName && t.ID != keep {
				if err := svc.RevokeToken(ctx, root, t.ID); err != nil {
					return fmt.Errorf("root token: revoke the previous one: %w", err)
				}
			}
		}
		if !page.HasNext() {
			return nil
		}
	}
}

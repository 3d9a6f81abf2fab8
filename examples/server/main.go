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
// The tables are in the schema public, or in the one -schema names
// (created if missing), which keeps them apart from the host's.
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
//   - <key-file>.previous: the keys that "patkit key rotate" replaced,
//     which tokens created before the rotation are still digested with
//     until their next use (see cmd/patkit).
//   - the root-token file.
//
// # Logs
//
// To stderr, as text: at INFO (the default) one line per API request with
// the path redacted of anything shaped like a secret; -log-level WARN keeps
// only what needs attention, as a busy production host would. Lines below
// WARN are written out within 100 ms, a buffer at a time; WARN and above,
// at once.
//
// # Events
//
// With -events FILE the server appends every token event (patkit.Event:
// created, rotated, revoked, reuse detected, first use from a new address,
// expiring soon, expired) to FILE (mode 0600), one JSON object a line; -
// writes them to stdout:
//
//	{"id":"019ad6c4-7b2e-7c41-9f0a-3f6d2a51c9e7","type":"token_revoked","time":"2026-12-01T16:05:02.117Z",
//	 "actor":{"user_id":1,"username":"root","token_id":1,"ip":"127.0.0.1"},
//	 "token":{"id":2,"name":"alice-ci","user_id":2,"scopes":["api"],"revoked":true,"expires_at":"2027-06-30"},
//	 "reason":"administrator"}
//
// id is a UUIDv7 (time-ordered), reason is set on token_revoked (owner,
// administrator, resource_manager, reuse_detected, admin_token_api) and
// notice on token_expiring_soon and token_expired (sixty_days,
// thirty_days, seven_days, after_expiry). No event holds a secret.
//
// With -events-webhook URL it also POSTs each event, the same JSON, to
// URL, signed: the header X-Patkit-Signature is "sha256=" and the hex of
// HMAC-SHA-256 of the body keyed with the contents of
// -events-webhook-secret-file (required: at least 16 bytes, in a file
// only its owner may read, never on the command line, where every user
// of the machine sees it), with X-Patkit-Event (the type) and
// X-Patkit-Event-ID. Deliveries wait in a queue of 1,024 events, sent one
// at a time in order by a goroutine of their own, so no request ever
// waits for the receiver: an answer other than 2xx, or none within 10 s,
// is retried 7 times with exponential backoff (1 s doubling up to 60 s,
// about 2 minutes in all), then dropped and logged; when the queue is
// full, new events are dropped and logged. A receiver should check the
// signature and may use the id to ignore a delivery it has seen. On
// shutdown the server delivers what is queued for up to 10 s.
//
// With either flag the server looks for the expiry notices that are due
// at start and every -notice-interval (1m): every server of a database
// may, each notice is sent by one (patkit.Service.SendExpiryNotices).
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
//   - the token pages for people (package webui) at GitLab's paths:
//     /-/user_settings/personal_access_tokens, /acme/widgets/-/settings/access_tokens,
//     /groups/acme/-/settings/access_tokens and /admin/credentials, behind
//     a demo sign-in at /-/demo/sign_in (pick root, alice or bob; not for
//     production: anyone may be anyone). / leads there.
//
// Instance settings are GitLab's defaults: expiry required, at most 365
// days, impersonation enabled, prefix glpat-.
//
// # Limits
//
// A client address that presents 30 failed credentials within 3 minutes
// gets 429 (Retry-After) until the period ends, valid tokens of other
// clients unaffected (httpapi's FailedAuthLimit, 16,384 addresses
// tracked); -failed-auth-limit sets the 30, and 0 turns the ban off, as
// GitLab's "Failed authentication ban" settings do. Request headers must
// arrive within 10 s and stay under 64 KiB, a whole request within 20 s (its body within 10 s); idle connections
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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/httpapi"
	"github.com/patkit/patkit/internal/bootstrap"
	"github.com/patkit/patkit/internal/keyfile"
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

// run is the server: it parses args, serves until ctx is done, then shuts
// down gracefully. Logs go to stderr.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	fl := flag.NewFlagSet("server", flag.ContinueOnError)
	fl.SetOutput(stderr)
	addr := fl.String("addr", "127.0.0.1:8080", "listen address")
	dbPath := fl.String("db", "patkit.db", "SQLite database file, or a postgres:// DSN")
	schema := fl.String("schema", "", "PostgreSQL schema holding the tables (default public)")
	keyFile := fl.String("key-file", "", "instance key file (default <db>.key for SQLite, patkit.key for PostgreSQL)")
	rootFile := fl.String("root-token-file", "root.token", "file holding the administrator token")
	grace := fl.Duration("rotation-grace", 0, "how long a rotated token keeps working, e.g. 30s (0: GitLab's behaviour, it fails at once)")
	failLimit := fl.Int("failed-auth-limit", httpapi.DefaultFailedAuthLimit, "failed credentials a client address may present in 3 minutes before it gets 429 (0: no ban)")
	var proxies cidrList
	fl.Var(&proxies, "trusted-proxies", "comma-separated networks of reverse proxies whose X-Forwarded-For is trusted, e.g. 10.0.0.0/8")
	var level slog.Level
	fl.TextVar(&level, "log-level", slog.LevelInfo, "least level logged: DEBUG, INFO (one line per request), WARN or ERROR")
	eventsFile := fl.String("events", "", "append every token event to this file as a line of JSON (- for stdout)")
	hookURL := fl.String("events-webhook", "", "POST every token event to this URL, signed (needs -events-webhook-secret-file)")
	hookSecretFile := fl.String("events-webhook-secret-file", "", "file holding the webhook's HMAC-SHA-256 key (mode 0600)")
	noticeEvery := fl.Duration("notice-interval", time.Minute, "how often to look for the expiry notices due")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fl.Args())
	}
	if *noticeEvery <= 0 {
		return fmt.Errorf("-notice-interval must be positive")
	}
	if *grace < 0 {
		return fmt.Errorf("-rotation-grace %v: must not be negative", *grace)
	}
	if *failLimit < 0 {
		return fmt.Errorf("-failed-auth-limit %d: must not be negative", *failLimit)
	}
	logBuf := newLogBuffer(stderr)
	defer logBuf.Flush()
	log := slog.New(newLogHandler(logBuf, level))
	sink, closeSink, err := openEvents(*eventsFile, *hookURL, *hookSecretFile, log)
	if err != nil {
		return err
	}

	postgres := strings.HasPrefix(*dbPath, "postgres://") || strings.HasPrefix(*dbPath, "postgresql://")
	if *schema != "" && !postgres {
		return errors.New("-schema needs a postgres:// -db")
	}
	store, err := openStore(ctx, *dbPath, *schema, postgres)
	if err != nil {
		return err
	}
	defer store.Close()
	if *keyFile == "" && postgres {
		*keyFile = "patkit.key"
	} else if *keyFile == "" && *dbPath != ":memory:" {
		*keyFile = *dbPath + ".key"
	}
	key, previous, err := keyfile.Load(ctx, *keyFile, store)
	if err != nil {
		return err
	}
	opts := &patkit.Options{PreviousKeys: previous, RotationGrace: *grace}
	if sink != nil {
		opts.OnEvent = sink.handle
	}
	svc, err := patkit.New(store, demoDirectory(), key, opts)
	if err != nil {
		closeSink(ctx)
		return err
	}
	// The events of this run are delivered before it returns, whatever
	// the way out: the last requests' (at most 10 s), then the webhook's
	// queue (at most 10 s more).
	defer func() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := svc.Flush(fctx); err != nil {
			log.Warn("events: not all delivered", "err", err)
		}
		closeSink(fctx)
	}()
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
	if sink != nil {
		// Every server of a database looks; each notice is sent by one.
		noticesDone := make(chan struct{})
		go func() {
			defer close(noticesDone)
			sendNotices(wctx, svc, *noticeEvery, log)
		}()
		defer func() { cancel(); <-noticesDone }()
	}
	root, err := svc.Principal(ctx, 1, true)
	if err != nil {
		return fmt.Errorf("root token: %w", err)
	}
	created, err := bootstrap.Ensure(ctx, svc, root, 1, *rootFile, log)
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
		Handler: routes(svc, log, proxies, *failLimit),
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

// openEvents returns the event sink of the flags, or nil if they ask for
// none, and the function that closes it once the Service has flushed its
// events: it waits for the webhook's queue until ctx ends, then closes
// the file.
func openEvents(file, hookURL, secretFile string, log *slog.Logger) (*eventSink, func(context.Context), error) {
	if file == "" && hookURL == "" {
		if secretFile != "" {
			return nil, nil, errors.New("-events-webhook-secret-file needs -events-webhook")
		}
		return nil, func(context.Context) {}, nil
	}
	sink := &eventSink{log: log}
	var f *os.File
	if hookURL != "" {
		u, err := url.Parse(hookURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, nil, fmt.Errorf("-events-webhook %q: want an http:// or https:// URL", hookURL)
		}
		if secretFile == "" {
			return nil, nil, errors.New("-events-webhook needs -events-webhook-secret-file: webhooks are always signed")
		}
		secret, err := patkit.ReadSecretFile(secretFile)
		if err != nil {
			return nil, nil, fmt.Errorf("webhook secret: %w", err)
		}
		if secret = bytes.TrimSpace(secret); len(secret) < 16 {
			return nil, nil, fmt.Errorf("webhook secret %s: %d bytes, want at least 16", secretFile, len(secret))
		}
		sink.hook = startWebhook(hookURL, secret, log)
	}
	switch file {
	case "":
	case "-":
		sink.lines = os.Stdout
	default:
		var err error
		if f, err = os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err != nil {
			if sink.hook != nil {
				sink.hook.close(context.Background())
			}
			return nil, nil, fmt.Errorf("-events: %w", err)
		}
		sink.lines = f
	}
	return sink, func(ctx context.Context) {
		if sink.hook != nil {
			sink.hook.close(ctx)
		}
		if f != nil {
			if err := f.Close(); err != nil {
				log.Warn("events: close", "file", file, "err", err)
			}
		}
	}, nil
}

// openStore opens the database: PostgreSQL for a postgres:// DSN, else a
// SQLite file.
func openStore(ctx context.Context, db, schema string, postgres bool) (interface {
	patkit.Store
	io.Closer
}, error) {
	if postgres {
		return pgstore.Open(ctx, db, &pgstore.Options{Schema: schema})
	}
	return sqlitestore.Open(ctx, db, nil)
}

// routes returns the server's handler: GitLab's token API under /api/v4/,
// and GET /whoami, a route of the host's own protected by the same tokens
// (it needs read_user, or api, or read_api). failLimit is the number of
// failed credentials a client address may present in a period (0: no
// limit).
func routes(svc *patkit.Service, log *slog.Logger, trustedProxies []netip.Prefix, failLimit int) http.Handler {
	opts := &httpapi.Options{Logger: log}
	if len(trustedProxies) > 0 {
		opts.ClientIP = httpapi.ForwardedFor(trustedProxies)
	} // else the connection's address
	if failLimit > 0 {
		// GitLab's failed-authentication ban: a client address that
		// fails to authenticate failLimit times (default 30) in a
		// 3-minute period gets 429 "Retry later" until the period ends;
		// 16,384 addresses are remembered (about 1.2 MB). The address is
		// the connection's, or with -trusted-proxies the one they
		// forward in X-Forwarded-For.
		opts.FailedAuthLimit = &httpapi.FailedAuthLimit{Limit: failLimit}
	}
	api := httpapi.New(svc, opts)
	mux := http.NewServeMux()
	mux.Handle("GET /whoami", api.RequireScopes(patkit.ScopeReadUser)(http.HandlerFunc(whoami)))
	mountWebUI(mux, svc, log)
	return apiFirst(api, mux)
}

// apiFirst sends every path under /api/ to api as it came, and the others
// to mux. ServeMux answers a path that is not clean ("//api/v4/version",
// from a client whose base URL ends in a slash) with a redirect to the
// clean one; GitLab answers it 404, and so does httpapi. A path that
// begins with /api/ goes to api without being cleaned, as every request
// of GitLab's clients does: cleaning it was about a thousand
// instructions of every request.
func apiFirst(api, mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; strings.HasPrefix(p, "/api/") || strings.HasPrefix(path.Clean(p), "/api/") {
			api.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
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

// bootstrapName names the administrator token the server keeps in the
// root-token file.
const bootstrapName = bootstrap.Name

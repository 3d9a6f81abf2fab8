package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/patkit/patkit/internal/pgtest"
)

// testDatabase creates an empty PostgreSQL database for one test and
// returns its DSN; it skips without PATKIT_TEST_POSTGRES_DSN.
func testDatabase(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("PATKIT_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("PATKIT_TEST_POSTGRES_DSN not set")
	}
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	name := fmt.Sprintf("patkit_example_%d", time.Now().UnixNano())
	if _, err := conn.Exec(t.Context(), "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	pgtest.AtEnd(t, dsn, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// TestTwoServersOnPostgres runs two servers on one database: tokens
// created on one work on the other, bot users included, and a revocation
// on one stops the token on the other although it was cached there.
func TestTwoServersOnPostgres(t *testing.T) {
	testTwoServers(t, testDatabase(t))
}

// TestTwoServersOnSQLite is the same on one SQLite file: two processes
// would behave as these two servers do.
func TestTwoServersOnSQLite(t *testing.T) {
	testTwoServers(t, filepath.Join(t.TempDir(), "shared.db"))
}

func testTwoServers(t *testing.T, db string) {
	dir := t.TempDir()
	flags := []string{"-db", db, "-key-file", filepath.Join(dir, "patkit.key"), "-root-token-file", filepath.Join(dir, "root.token")}
	a := startArgs(t, flags...)
	b := startArgs(t, flags...)
	if !strings.Contains(b.stderr.String(), "created=false") {
		t.Errorf("second server did not reuse the root token:\n%s", b.stderr)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "root.token"))
	root := strings.TrimSpace(string(raw))

	code, _, created, _ := a.call(t, "POST", "/api/v4/users/2/personal_access_tokens", root, map[string]any{"name": "ci", "scopes": []string{"api"}})
	if code != 201 {
		t.Fatalf("create on a: %d %v", code, created)
	}
	alice := created["token"].(string)
	if code, _, body, _ := b.call(t, "GET", "/api/v4/personal_access_tokens/self", alice, nil); code != 200 {
		t.Fatalf("alice on b: %d %v", code, body)
	}
	if code, _, _, _ := a.call(t, "DELETE", "/api/v4/personal_access_tokens/self", alice, nil); code != 204 {
		t.Fatalf("revoke on a: %d", code)
	}
	revoked := time.Now()
	for {
		code, _, body, _ := b.call(t, "GET", "/api/v4/personal_access_tokens/self", alice, nil)
		if code == 401 {
			if body["error"] != "invalid_token" {
				t.Fatalf("revoked token on b: %v", body)
			}
			break
		}
		if time.Since(revoked) > 5*time.Second {
			t.Fatalf("b still accepts the token revoked on a after 5s")
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("revocation on a reached b's cache in %v", time.Since(revoked))

	// A project token created on b authenticates on a: its bot user is
	// derived from the shared tokens.
	code, _, created, _ = b.call(t, "POST", "/api/v4/users/2/personal_access_tokens", root, map[string]any{"name": "ci2", "scopes": []string{"api"}})
	if code != 201 {
		t.Fatalf("create on b: %d %v", code, created)
	}
	code, _, proj, _ := b.call(t, "POST", "/api/v4/projects/acme%2Fwidgets/access_tokens", created["token"].(string), map[string]any{"name": "deploy", "scopes": []string{"read_api"}, "access_level": 30})
	if code != 201 {
		t.Fatalf("project token on b: %d %v", code, proj)
	}
	code, _, self, _ := a.call(t, "GET", "/api/v4/personal_access_tokens/self", proj["token"].(string), nil)
	if code != 200 || self["name"] != "deploy" {
		t.Fatalf("project token on a: %d %v", code, self)
	}
	code, _, _, list := a.call(t, "GET", "/api/v4/projects/1/access_tokens", root, nil)
	if code != 200 || len(list) != 1 || list[0].(map[string]any)["access_level"] != 30.0 {
		t.Fatalf("project tokens on a: %d %v", code, list)
	}
}

// TestDatabaseOutage checks that a server whose database goes away answers
// 503 in GitLab's shape, never a 500, and recovers by itself.
func TestDatabaseOutage(t *testing.T) {
	dsn := testDatabase(t)
	u, _ := url.Parse(dsn)
	p := newProxy(t, u.Host)
	u.Host = p.addr
	dir := t.TempDir()
	s := startArgs(t, "-db", u.String(), "-key-file", filepath.Join(dir, "k"), "-root-token-file", filepath.Join(dir, "root.token"))
	raw, _ := os.ReadFile(filepath.Join(dir, "root.token"))
	root := strings.TrimSpace(string(raw))
	if code, _, _, _ := s.call(t, "GET", "/api/v4/personal_access_tokens", root, nil); code != 200 {
		t.Fatalf("before the outage: %d", code)
	}

	p.down()
	code, _, body, _ := s.call(t, "GET", "/api/v4/personal_access_tokens", root, nil)
	if code != 503 || body["message"] != "503 Service Unavailable" {
		t.Fatalf("during the outage: %d %v", code, body)
	}
	code, _, body, _ = s.call(t, "POST", "/api/v4/users/2/personal_access_tokens", root, map[string]any{"name": "x", "scopes": []string{"api"}})
	if code != 503 {
		t.Fatalf("create during the outage: %d %v", code, body)
	}

	p.up()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _, _, _ := s.call(t, "GET", "/api/v4/personal_access_tokens", root, nil)
		if code == 200 {
			break
		}
		if code != 503 || time.Now().After(deadline) {
			t.Fatalf("after the outage: %d", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// proxy forwards TCP connections to a target and can be taken down (its
// listener and every connection closed) and brought back on the same
// address.
type proxy struct {
	t      *testing.T
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target}
	p.listen("127.0.0.1:0")
	t.Cleanup(p.down)
	return p
}

func (p *proxy) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) up() { p.listen(p.addr) }

// TestBadTextOnPostgres sends what PostgreSQL cannot store (a NUL, invalid
// UTF-8) in every text parameter: 400, never a 500 from the database.
func TestBadTextOnPostgres(t *testing.T) {
	dsn := testDatabase(t)
	dir := t.TempDir()
	s := startArgs(t, "-db", dsn, "-key-file", filepath.Join(dir, "patkit.key"), "-root-token-file", filepath.Join(dir, "root.token"))
	raw, _ := os.ReadFile(filepath.Join(dir, "root.token"))
	root := strings.TrimSpace(string(raw))
	for _, path := range []string{
		"/api/v4/users/2/personal_access_tokens?name=a%00b&scopes[]=api",
		"/api/v4/users/2/personal_access_tokens?name=a%ffb&scopes[]=api",
		"/api/v4/users/2/personal_access_tokens?name=ok&description=%00&scopes[]=api",
		"/api/v4/personal_access_tokens?search=%00",
		"/api/v4/personal_access_tokens?search=%ff",
	} {
		method := "POST"
		if strings.Contains(path, "search") {
			method = "GET"
		}
		req, _ := http.NewRequest(method, s.url+path, nil)
		req.Header.Set("PRIVATE-TOKEN", root)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("%s %s: %d %s, want 400", method, path, resp.StatusCode, body)
		}
	}
}

// TestSchemaOnPostgres: -schema puts the tables in that schema, and
// nothing in public.
func TestSchemaOnPostgres(t *testing.T) {
	db := testDatabase(t)
	dir := t.TempDir()
	s := startArgs(t, "-db", db, "-schema", "tokens_here", "-key-file", filepath.Join(dir, "patkit.key"), "-root-token-file", filepath.Join(dir, "root.token"))
	raw, _ := os.ReadFile(filepath.Join(dir, "root.token"))
	if code, body := s.getSelf(t, strings.TrimSpace(string(raw))); code != 200 {
		t.Fatalf("root token: %d %s", code, body)
	}
	conn, err := pgx.Connect(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var here, public int
	err = conn.QueryRow(t.Context(), `SELECT
		(SELECT count(*) FROM tokens_here.tokens),
		(SELECT count(*) FROM pg_tables WHERE schemaname = 'public')`).Scan(&here, &public)
	if err != nil {
		t.Fatal(err)
	}
	if here != 1 || public != 0 {
		t.Errorf("%d tokens in tokens_here (want the root token's 1), %d tables in public (want 0)", here, public)
	}
}

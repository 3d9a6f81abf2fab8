package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// server is a running instance of run.
type server struct {
	url    string
	stop   func()
	done   chan error
	stderr *syncBuffer
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var listening = regexp.MustCompile(`msg=listening addr=(\S+)`)

// start runs the server on a free port with its files in dir.
func start(t *testing.T, dir string) *server {
	t.Helper()
	return startArgs(t, "-db", filepath.Join(dir, "patkit.db"), "-root-token-file", filepath.Join(dir, "root.token"))
}

// startTimeout bounds a server's start. Under -race on a loaded 2-core
// machine (CI runs sqlitestore's tests beside these), a third server on a
// file that two others sweep every 50 ms was seen still parsing the token
// pages' templates after 10 s (a goroutine dump: runnable, not blocked).
const startTimeout = 30 * time.Second

// startArgs runs the server on a free port with more flags.
func startArgs(t *testing.T, flags ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{stop: cancel, done: make(chan error, 1), stderr: &syncBuffer{}}
	args := append([]string{"-addr", "127.0.0.1:0"}, flags...)
	go func() { s.done <- run(ctx, args, s.stderr) }()
	deadline := time.Now().Add(startTimeout)
	for {
		if m := listening.FindStringSubmatch(s.stderr.String()); m != nil {
			s.url = "http://" + m[1]
			break
		}
		select {
		case err := <-s.done:
			t.Fatalf("server exited: %v\n%s", err, s.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start:\n%s", s.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Cleanup(func() { s.shutdown(t) })
	return s
}

func (s *server) shutdown(t *testing.T) {
	t.Helper()
	if s.stop == nil {
		return
	}
	s.stop()
	s.stop = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Error("server did not shut down")
	}
}

func (s *server) call(t *testing.T, method, path, token string, body any) (int, http.Header, map[string]any, []any) {
	t.Helper()
	code, header, raw := s.send(t, method, path, token, body)
	var obj map[string]any
	var arr []any
	if len(raw) > 0 {
		if raw[0] == '[' {
			_ = json.Unmarshal(raw, &arr)
		} else if err := json.Unmarshal(raw, &obj); err != nil {
			t.Fatalf("%s %s: not JSON: %q", method, path, raw)
		}
	}
	return code, header, obj, arr
}

// send sends method path with token in PRIVATE-TOKEN and body as JSON,
// and returns the answer's status, header and body.
func (s *server) send(t *testing.T, method, path, token string, body any) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("PRIVATE-TOKEN", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw
}

func TestServer(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir)

	// The root token file exists, mode 0600, and the token is an admin's.
	tokPath := filepath.Join(dir, "root.token")
	fi, err := os.Stat(tokPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("root token mode %v", fi.Mode().Perm())
	}
	if ki, err := os.Stat(filepath.Join(dir, "patkit.db.key")); err != nil || ki.Mode().Perm() != 0o600 || ki.Size() != 32 {
		t.Errorf("key file: %v %v", ki, err)
	}
	b, _ := os.ReadFile(tokPath)
	root := strings.TrimSpace(string(b))
	if !strings.HasPrefix(root, "glpat-") {
		t.Fatalf("root token %q", root)
	}
	code, _, self, _ := s.call(t, "GET", "/api/v4/personal_access_tokens/self", root, nil)
	if code != 200 || self["user_id"] != 1.0 || len(self["scopes"].([]any)) != 5 {
		t.Fatalf("self: %d %v", code, self)
	}

	// Root creates a token for alice, who uses and rotates it.
	code, _, created, _ := s.call(t, "POST", "/api/v4/users/2/personal_access_tokens", root,
		map[string]any{"name": "alice-ci", "scopes": []string{"api"}})
	if code != 201 {
		t.Fatalf("create: %d %v", code, created)
	}
	alice := created["token"].(string)
	code, _, _, list := s.call(t, "GET", "/api/v4/personal_access_tokens", alice, nil)
	if code != 200 || len(list) != 1 {
		t.Fatalf("alice list: %d %v", code, list)
	}
	code, _, rotated, _ := s.call(t, "POST", "/api/v4/personal_access_tokens/self/rotate", alice, nil)
	if code != 200 {
		t.Fatalf("rotate: %d %v", code, rotated)
	}
	alice2 := rotated["token"].(string)

	// Alice makes a project access token; bob (Developer) cannot see them.
	code, _, proj, _ := s.call(t, "POST", "/api/v4/projects/acme%2Fwidgets/access_tokens", alice2,
		map[string]any{"name": "deploy", "scopes": []string{"read_api"}, "access_level": 30})
	if code != 201 {
		t.Fatalf("project token: %d %v", code, proj)
	}
	projTok := proj["token"].(string)
	code, _, bobTok, _ := s.call(t, "POST", "/api/v4/users/3/personal_access_tokens", root,
		map[string]any{"name": "bob", "scopes": "api,read_api"})
	if code != 201 {
		t.Fatalf("bob: %d %v", code, bobTok)
	}
	if code, _, body, _ := s.call(t, "GET", "/api/v4/projects/1/access_tokens", bobTok["token"].(string), nil); code != 401 {
		t.Fatalf("bob lists project tokens: %d %v", code, body)
	}
	if code, _, _, _ := s.call(t, "GET", "/api/v4/nope", "", nil); code != 404 {
		t.Fatalf("unknown route: %d", code)
	}
	// A path that is not clean names no route: GitLab's 404, where a
	// ServeMux in front would redirect to the clean path.
	for _, p := range []string{"//api/v4/version", "/api//v4/personal_access_tokens/self", "/api/v4/./version", "/api/../whoami"} {
		if code, h, body, _ := s.call(t, "GET", p, root, nil); code != 404 || body["message"] != "404 Not Found" || h.Get("Location") != "" {
			t.Errorf("GET %s: %d %v, Location %q", p, code, body, h.Get("Location"))
		}
	}

	// After a restart: the root token is reused, alice's new token and the
	// project token (whose bot user lives in memory) still work.
	s.shutdown(t)
	// Every line is written by the time run returns.
	if strings.Contains(s.stderr.String(), alice2) || !strings.Contains(s.stderr.String(), "msg=\"http request\"") {
		t.Errorf("logs:\n%s", s.stderr)
	}
	s = start(t, dir)
	b2, _ := os.ReadFile(tokPath)
	if strings.TrimSpace(string(b2)) != root {
		t.Fatal("root token replaced on restart")
	}
	if !strings.Contains(s.stderr.String(), "created=false") {
		t.Errorf("start log:\n%s", s.stderr)
	}
	if code, _, body, _ := s.call(t, "GET", "/api/v4/personal_access_tokens/self", alice2, nil); code != 200 {
		t.Fatalf("alice after restart: %d %v", code, body)
	}
	code, _, ptSelf, _ := s.call(t, "GET", "/api/v4/personal_access_tokens/self", projTok, nil)
	if code != 200 || ptSelf["name"] != "deploy" {
		t.Fatalf("project token after restart: %d %v", code, ptSelf)
	}
	code, _, _, plist := s.call(t, "GET", "/api/v4/projects/acme%2Fwidgets/access_tokens", projTok, nil)
	if code != 401 { // a Developer-level bot may not list tokens
		t.Fatalf("bot lists: %d %v", code, plist)
	}
	code, _, _, plist = s.call(t, "GET", "/api/v4/projects/acme%2Fwidgets/access_tokens", alice2, nil)
	if code != 200 || len(plist) != 1 || plist[0].(map[string]any)["access_level"] != 30.0 {
		t.Fatalf("alice lists: %d %v", code, plist)
	}
	// Revoke: alice revokes the project token; it stops working.
	id := plist[0].(map[string]any)["id"].(float64)
	if code, _, body, _ := s.call(t, "DELETE", "/api/v4/projects/1/access_tokens/"+strconv.Itoa(int(id)), alice2, nil); code != 204 {
		t.Fatalf("revoke: %d %v", code, body)
	}
	if code, _, _, _ := s.call(t, "GET", "/api/v4/personal_access_tokens/self", projTok, nil); code != 401 {
		t.Fatalf("revoked project token: %d", code)
	}

	// A root token file holding a revoked token is replaced.
	if code, _, _, _ := s.call(t, "DELETE", "/api/v4/personal_access_tokens/self", root, nil); code != 204 {
		t.Fatal("revoke root")
	}
	s.shutdown(t)
	s = start(t, dir)
	b3, _ := os.ReadFile(tokPath)
	if newRoot := strings.TrimSpace(string(b3)); newRoot == root {
		t.Fatal("revoked root token reused")
	} else if code, _, _, _ := s.call(t, "GET", "/api/v4/personal_access_tokens?per_page=1", newRoot, nil); code != 200 {
		t.Fatalf("new root: %d", code)
	}
}

func TestFlags(t *testing.T) {
	var stderr bytes.Buffer
	if err := run(t.Context(), []string{"-nope"}, &stderr); err == nil {
		t.Fatal("bad flag accepted")
	}
	if err := run(t.Context(), []string{"extra"}, &stderr); err == nil {
		t.Fatal("extra argument accepted")
	}
	if err := run(t.Context(), []string{"-log-level", "LOUD"}, &stderr); err == nil {
		t.Fatal("unknown log level accepted")
	}
	for _, args := range [][]string{{"-rotation-grace", "soon"}, {"-rotation-grace", "-1s"}, {"-trusted-proxies", "10.0.0.0/8,proxy.local"},
		{"-failed-auth-limit", "-1"}, {"-schema", "patkit", "-db", filepath.Join(t.TempDir(), "sqlite.db")}} {
		if err := run(t.Context(), args, &stderr); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}

// TestRotationGraceAndProxies: -rotation-grace keeps a rotated token
// working, and -trusted-proxies makes X-Forwarded-For of a trusted peer
// (here the test, on 127.0.0.1) the address allowed_cidrs is checked
// against.
func TestRotationGraceAndProxies(t *testing.T) {
	dir := t.TempDir()
	s := startArgs(t, "-db", filepath.Join(dir, "patkit.db"), "-root-token-file", filepath.Join(dir, "root.token"),
		"-rotation-grace", "1m", "-trusted-proxies", "127.0.0.1")
	root, err := os.ReadFile(filepath.Join(dir, "root.token"))
	if err != nil {
		t.Fatal(err)
	}
	code, _, tok, _ := s.call(t, "POST", "/api/v4/users/2/personal_access_tokens", strings.TrimSpace(string(root)),
		map[string]any{"name": "shared", "scopes": []string{"api"}, "allowed_cidrs": []string{"192.0.2.0/24"}})
	if code != 201 {
		t.Fatalf("create: %d %v", code, tok)
	}
	old := tok["token"].(string)
	from := func(method, path, token, ip string) int {
		req, _ := http.NewRequest(method, s.url+path, nil)
		req.Header.Set("PRIVATE-TOKEN", token)
		req.Header.Set("X-Forwarded-For", ip)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := from("GET", "/api/v4/personal_access_tokens/self", old, "203.0.113.1"); c != 401 {
		t.Errorf("from outside allowed_cidrs: %d, want 401", c)
	}
	if c := from("POST", "/api/v4/personal_access_tokens/self/rotate", old, "192.0.2.1"); c != 200 {
		t.Fatalf("rotate: %d", c)
	}
	if c := from("GET", "/api/v4/personal_access_tokens/self", old, "192.0.2.1"); c != 200 {
		t.Errorf("rotated token within the grace window: %d, want 200", c)
	}
	if c := from("POST", "/api/v4/personal_access_tokens/self/rotate", old, "192.0.2.1"); c != 400 {
		t.Errorf("second rotation within the window: %d, want 400", c)
	}
}

// TestLogLevel: requests are logged at INFO, the default, and not at WARN
// (where a busy host keeps its logs for what needs attention).
func TestLogLevel(t *testing.T) {
	for _, c := range []struct {
		level  string
		logged bool
	}{{"INFO", true}, {"WARN", false}} {
		dir := t.TempDir()
		// The server announces its address at INFO; at WARN the test
		// gives it one.
		addr := "127.0.0.1:0"
		if !c.logged {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr = ln.Addr().String()
			ln.Close()
		}
		ctx, cancel := context.WithCancel(t.Context())
		stderr := &syncBuffer{}
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"-addr", addr, "-log-level", c.level,
				"-db", filepath.Join(dir, "patkit.db"), "-root-token-file", filepath.Join(dir, "root.token")}, stderr)
		}()
		url := ""
		for deadline := time.Now().Add(10 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if m := listening.FindStringSubmatch(stderr.String()); m != nil {
				url = "http://" + m[1]
			} else if !c.logged {
				if resp, err := http.Get("http://" + addr + "/api/v4/version"); err == nil {
					resp.Body.Close()
					url = "http://" + addr
				}
			}
		}
		if url == "" {
			t.Fatalf("%s: server did not start:\n%s", c.level, stderr)
		}
		resp, err := http.Get(url + "/api/v4/personal_access_tokens/self")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(stderr.String(), "path=/api/v4/personal_access_tokens/self"); got != c.logged {
			t.Errorf("-log-level %s: request logged = %v, want %v:\n%s", c.level, got, c.logged, stderr)
		}
	}
}

// TestLookups checks the demo directory's abilities through the lookups
// GitLab's clients make: user search and memberships reach the
// MemDirectory behind it.
func TestLookups(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir)
	b, _ := os.ReadFile(filepath.Join(dir, "root.token"))
	root := strings.TrimSpace(string(b))
	code, _, created, _ := s.call(t, "POST", "/api/v4/users/2/personal_access_tokens", root,
		map[string]any{"name": "alice", "scopes": []string{"read_api"}})
	if code != 201 {
		t.Fatalf("create: %d %v", code, created)
	}
	alice := created["token"].(string)

	code, _, me, _ := s.call(t, "GET", "/api/v4/user", alice, nil)
	if code != 200 || me["username"] != "alice" || me["web_url"] != s.url+"/alice" {
		t.Errorf("GET /user: %d %v", code, me)
	}
	code, _, _, found := s.call(t, "GET", "/api/v4/users?search=o", alice, nil)
	if code != 200 || len(found) != 2 {
		t.Errorf("search: %d %v", code, found)
	}
	code, _, assoc, _ := s.call(t, "GET", "/api/v4/personal_access_tokens/self/associations", alice, nil)
	if code != 200 || len(assoc["groups"].([]any)) != 1 || len(assoc["projects"].([]any)) != 1 {
		t.Errorf("associations: %d %v", code, assoc)
	}
	code, _, proj, _ := s.call(t, "GET", "/api/v4/projects/acme%2Fwidgets", "", nil)
	if code != 404 || proj["message"] != "404 Project Not Found" {
		t.Errorf("anonymous, private project: %d %v", code, proj)
	}
}

package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/httpapi"
)

// watchedBody is a request body that records whether anyone read it.
type watchedBody struct {
	r    io.Reader
	read atomic.Bool
}

func (b *watchedBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.r.Read(p)
}

// TestBodyReadOnlyAfterAuthentication checks that a request body is read
// only once the request is authenticated, except a form body when nothing
// else carries a credential: GitLab accepts private_token there.
func TestBodyReadOnlyAfterAuthentication(t *testing.T) {
	e := newEnv(t)
	alice, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
	revoked, revokedID := e.token(aliceID, "old", patkit.ScopeAPI)
	if err := e.svc.RevokeToken(t.Context(), e.principal(aliceID), revokedID); err != nil {
		t.Fatal(err)
	}
	unknown := "glpat-" + strings.Repeat("a", 34)
	const create = "/api/v4/user/personal_access_tokens"
	jsonBody := `{"name":"agent","scopes":["k8s_proxy"]}`
	formBody := url.Values{"name": {"agent"}, "scopes[]": {"k8s_proxy"}}.Encode()
	tests := []struct {
		name      string
		header    http.Header
		path, ct  string
		body      string
		code      int
		wantRead  bool
		wantAgent bool // a token named agent was created for alice
	}{
		{"no credential, JSON", nil, create, "application/json", jsonBody, 401, false, false},
		{"no credential, malformed JSON", nil, create, "application/json", `{`, 401, false, false},
		{"no credential, other body", nil, create, "text/plain", "hello", 401, false, false},
		{"unknown token, JSON", http.Header{"Private-Token": {unknown}}, create, "application/json", jsonBody, 401, false, false},
		{"malformed token, form", http.Header{"Private-Token": {"nope"}}, create, "application/x-www-form-urlencoded", formBody, 401, false, false},
		{"revoked token, JSON", http.Header{"Authorization": {"Bearer " + revoked}}, create, "application/json", jsonBody, 401, false, false},
		{"unknown token in the query, form", nil, create + "?private_token=" + unknown, "application/x-www-form-urlencoded", formBody, 401, false, false},
		{"valid token, JSON", http.Header{"Private-Token": {alice}}, create, "application/json", jsonBody, 201, true, true},
		{"valid token in the query, form", nil, create + "?private_token=" + alice, "application/x-www-form-urlencoded", formBody, 201, true, true},
		{"valid token in a form body", nil, create, "application/x-www-form-urlencoded", formBody + "&private_token=" + alice, 201, true, true},
		{"access_token in a form body", nil, create, "application/x-www-form-urlencoded", formBody + "&access_token=" + alice, 201, true, true},
		{"unknown token in a form body", nil, create, "application/x-www-form-urlencoded", formBody + "&private_token=" + unknown, 401, true, false},
		{"form body without credential", nil, create, "application/x-www-form-urlencoded", formBody, 401, true, false},
		{"malformed form body without credential", nil, create, "application/x-www-form-urlencoded", "a=%zz", 400, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := countTokens(t, e, "agent")
			body := &watchedBody{r: strings.NewReader(tt.body)}
			r := httptest.NewRequest("POST", tt.path, body)
			r.Header.Set("Content-Type", tt.ct)
			for k, v := range tt.header {
				r.Header[k] = v
			}
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, r)
			if rec.Code != tt.code {
				t.Errorf("status %d, want %d: %s", rec.Code, tt.code, rec.Body)
			}
			if got := body.read.Load(); got != tt.wantRead {
				t.Errorf("body read = %v, want %v", got, tt.wantRead)
			}
			if got := countTokens(t, e, "agent") > before; got != tt.wantAgent {
				t.Errorf("token created = %v, want %v", got, tt.wantAgent)
			}
		})
	}
}

// countTokens counts alice's tokens named name.
func countTokens(t *testing.T, e *env, name string) int {
	t.Helper()
	pg, err := e.svc.ListTokens(t.Context(), e.principal(aliceID), patkit.Filter{PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tok := range pg.Tokens {
		if tok.Name == name {
			n++
		}
	}
	return n
}

// TestMultipartCredential checks that a private_token in a multipart body
// still authenticates when nothing else carries a credential.
func TestMultipartCredential(t *testing.T) {
	e := newEnv(t)
	alice, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("name", "agent")
	mw.WriteField("scopes[]", "k8s_proxy")
	mw.WriteField("private_token", alice)
	mw.Close()
	e.do(req{method: "POST", path: "/api/v4/user/personal_access_tokens", raw: buf.String(), contentType: mw.FormDataContentType()}).
		check(t, 201, `{"id":2,"name":"agent","revoked":false,"created_at":"2026-03-01T12:00:00.123Z","description":null,"scopes":["k8s_proxy"],"user_id":2,"last_used_at":null,"active":true,"granular":false,"expires_at":"2027-03-01","last_used_ips":[],"token":"<secret>"}`)
}

// TestSudoInBody checks that Sudo named in a JSON or form body still
// applies, though the body is read after the token is authenticated.
func TestSudoInBody(t *testing.T) {
	e := newEnv(t)
	sudo, _ := e.token(rootID, "sudo", patkit.ScopeAPI, patkit.ScopeSudo)
	onlySudo, _ := e.token(rootID, "onlysudo", patkit.ScopeSudo)
	noSudo, _ := e.token(rootID, "nosudo", patkit.ScopeAPI)
	aliceTok, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
	const create = "/api/v4/user/personal_access_tokens"
	body := func(sudo string) map[string]any {
		return map[string]any{"name": "agent", "scopes": []string{"k8s_proxy"}, "sudo": sudo}
	}
	tests := []struct {
		name string
		r    req
		code int
		body string
	}{
		{"JSON", req{method: "POST", path: create, token: sudo, json: body("alice")}, 201, ""},
		{"form", req{method: "POST", path: create, token: sudo, form: url.Values{"name": {"agent"}, "scopes[]": {"k8s_proxy"}, "sudo": {"alice"}}}, 201, ""},
		{"only the sudo scope is checked", req{method: "POST", path: create, token: onlySudo, json: body("2")}, 201, ""},
		{"the body wins over the query", req{method: "POST", path: create + "?sudo=nobody", token: sudo, json: body("alice")}, 201, ""},
		{"the body wins over the header", req{method: "POST", path: create, token: sudo, header: http.Header{"Sudo": {"bob"}}, json: body("alice")}, 201, ""},
		{"an empty body value falls back to the header", req{method: "POST", path: create, token: sudo, header: http.Header{"Sudo": {"alice"}}, json: body("")}, 201, ""},
		{"only sudo scope without Sudo", req{method: "POST", path: create, token: onlySudo, json: map[string]any{"name": "agent", "scopes": []string{"k8s_proxy"}}},
			403, scopeBody("read_user api read_api")},
		{"no sudo scope", req{method: "POST", path: create, token: noSudo, json: body("alice")}, 403, scopeBody("sudo")},
		{"not admin", req{method: "POST", path: create, token: aliceTok, json: body("bob")}, 403, `{"message":"403 Forbidden - Must be admin to use sudo"}`},
		{"unknown user", req{method: "POST", path: create, token: sudo, json: body("nobody")}, 404, `{"message":"404 User with ID or username 'nobody' Not Found"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.r)
			if tt.body != "" {
				r.check(t, tt.code, tt.body)
				return
			}
			if r.code != tt.code {
				t.Fatalf("status %d: %s", r.code, r.body)
			}
			var got struct {
				UserID int64 `json:"user_id"`
			}
			if err := json.Unmarshal([]byte(r.body), &got); err != nil || got.UserID != aliceID {
				t.Errorf("token for user %d, want alice (%d): %s", got.UserID, aliceID, r.body)
			}
		})
	}
}

// TestBodyReadTimeout checks that a body that does not arrive within
// Options.BodyReadTimeout is answered 408 and its connection closed,
// while a request whose body arrived in time is served to the end however
// long the handler takes.
func TestBodyReadTimeout(t *testing.T) {
	const timeout = 50 * time.Millisecond
	e := newEnv(t, func(_ *patkit.Options, ho *httpapi.Options) { ho.BodyReadTimeout = timeout })
	alice, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
	srv := httptest.NewServer(e.h)
	t.Cleanup(srv.Close)

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second)) // only so that a failure cannot hang the test
	fmt.Fprintf(conn, "POST /api/v4/user/personal_access_tokens HTTP/1.1\r\nHost: x\r\nPrivate-Token: %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"name\":", alice)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusRequestTimeout || string(b) != `{"message":"408 Request Timeout"}` || !res.Close {
		t.Errorf("trickled body: %d %s (close %v)", res.StatusCode, b, res.Close)
	}

	// A body read in time, then a handler slower than the timeout.
	slow := &slowCreate{Store: e.store, delay: 4 * timeout}
	svc, err := patkit.New(slow, e.dir, bytes.Repeat([]byte("k"), 32), &patkit.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	srv2 := httptest.NewServer(conform(t, httpapi.New(svc, &httpapi.Options{BodyReadTimeout: timeout, Logger: newJSONLogger(io.Discard)})))
	t.Cleanup(srv2.Close)
	rq, _ := http.NewRequestWithContext(t.Context(), "POST", srv2.URL+"/api/v4/user/personal_access_tokens",
		strings.NewReader(`{"name":"agent","scopes":["k8s_proxy"]}`))
	rq.Header.Set("Content-Type", "application/json")
	rq.Header.Set("Private-Token", alice)
	res, err = srv2.Client().Do(rq)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Errorf("slow handler: %d %s", res.StatusCode, b)
	}
}

// slowCreate delays Create.
type slowCreate struct {
	patkit.Store
	delay time.Duration
}

func (s *slowCreate) Create(ctx context.Context, tok *patkit.Token) error {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.Store.Create(ctx, tok)
}

// countingBody counts the bytes read from it.
type countingBody struct {
	r io.Reader
	n atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// TestAnonymousFormBodyLimit checks that a form body read only to look for
// a credential is held to 64 KiB, while an authenticated one may use
// MaxBodyBytes.
func TestAnonymousFormBodyLimit(t *testing.T) {
	e := newEnv(t)
	alice, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
	big := url.Values{"name": {"agent"}, "scopes[]": {"k8s_proxy"}, "padding": {strings.Repeat("d", 100<<10)}}
	for _, tt := range []struct {
		name   string
		header http.Header
		form   url.Values
		code   int
	}{
		{"anonymous", nil, url.Values{"private_token": {alice}}, 413},
		{"authenticated by header", http.Header{"Private-Token": {alice}}, nil, 201},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := url.Values{}
			for k, v := range big {
				f[k] = v
			}
			for k, v := range tt.form {
				f[k] = v
			}
			body := &countingBody{r: strings.NewReader(f.Encode())}
			r := httptest.NewRequest("POST", "/api/v4/user/personal_access_tokens", body)
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tt.header {
				r.Header[k] = v
			}
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, r)
			if rec.Code != tt.code {
				t.Fatalf("status %d, want %d: %.200s", rec.Code, tt.code, rec.Body)
			}
			if tt.code == 413 && body.n.Load() > 65<<10 {
				t.Errorf("%d bytes read of an anonymous body, want at most 64 KiB", body.n.Load())
			}
		})
	}
}

package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/patkit/patkit"
	"github.com/patkit/patkit/httpapi"
	"github.com/patkit/patkit/memstore"
)

// now is the fixed clock of the tests.
var now = time.Date(2026, 3, 1, 12, 0, 0, 123e6, time.UTC)

// The demo users, projects and groups.
const (
	rootID  = 1
	aliceID = 2
	bobID   = 3
	carolID = 4 // blocked
	daveID  = 5 // admin, for impersonation targets
)

type env struct {
	t     testing.TB
	svc   *patkit.Service
	dir   *patkit.MemDirectory
	store patkit.Store
	api   *httpapi.Handler
	h     http.Handler // api, its responses checked against openapi.json
	logs  *bytes.Buffer
	clock *time.Time
}

type envOption func(*patkit.Options, *httpapi.Options)

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	return newEnvOn(t, memstore.New(), opts...)
}

// newEnvOn is newEnv on another store.
func newEnvOn(t testing.TB, store patkit.Store, opts ...envOption) *env {
	t.Helper()
	e := &env{t: t, dir: &patkit.MemDirectory{}, store: store, logs: &bytes.Buffer{}}
	clock := now
	e.clock = &clock
	e.dir.AddUser(patkit.User{ID: rootID, Username: "root", Name: "Administrator", Admin: true})
	e.dir.AddUser(patkit.User{ID: aliceID, Username: "alice", Name: "Alice"})
	e.dir.AddUser(patkit.User{ID: bobID, Username: "bob", Name: "Bob"})
	e.dir.AddUser(patkit.User{ID: carolID, Username: "carol", Name: "Carol", Blocked: true})
	e.dir.AddUser(patkit.User{ID: daveID, Username: "dave", Name: "Dave", Admin: true})
	e.dir.AddResource(patkit.Resource{Type: patkit.ResourceProject, ID: 1, FullPath: "acme/widgets", Public: true}) // visibility has tests of its own
	e.dir.AddResource(patkit.Resource{Type: patkit.ResourceGroup, ID: 1, FullPath: "acme", Public: true})
	e.dir.SetAccess(patkit.ResourceProject, 1, aliceID, patkit.Maintainer)
	e.dir.SetAccess(patkit.ResourceProject, 1, bobID, patkit.Developer)
	e.dir.SetAccess(patkit.ResourceGroup, 1, aliceID, patkit.Owner)
	e.dir.SetAccess(patkit.ResourceGroup, 1, bobID, patkit.Reporter)
	po := &patkit.Options{Now: func() time.Time { return *e.clock }}
	ho := &httpapi.Options{
		ExternalURL: "https://gitlab.example.com",
		Logger:      slog.New(slog.NewJSONHandler(e.logs, nil)),
	}
	for _, o := range opts {
		o(po, ho)
	}
	svc, err := patkit.New(e.store, e.dir, bytes.Repeat([]byte("k"), 32), po)
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	e.api = httpapi.New(svc, ho)
	e.h = conform(t, e.api)
	return e
}

// admin returns a principal acting as user id, for setting up tokens
// through the Service.
func (e *env) principal(id int64) *patkit.Principal {
	e.t.Helper()
	p, err := e.svc.Principal(context.Background(), id, false)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// token creates a personal access token for user id and returns its
// secret and ID.
func (e *env) token(id int64, name string, scopes ...patkit.Scope) (string, int64) {
	e.t.Helper()
	t, secret, err := e.svc.CreateToken(context.Background(), e.principal(rootID), id, patkit.TokenOptions{
		Name: name, Scopes: scopes,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return secret, t.ID
}

// resourceToken creates a project or group access token through the
// Service as alice.
func (e *env) resourceToken(typ patkit.ResourceType, name string, level patkit.AccessLevel, scopes ...patkit.Scope) (string, *patkit.Token) {
	e.t.Helper()
	t, secret, err := e.svc.CreateResourceToken(context.Background(), e.principal(aliceID), typ, "1", patkit.TokenOptions{
		Name: name, Scopes: scopes, AccessLevel: level,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return secret, t
}

func (e *env) impersonationToken(userID int64, name string, scopes ...patkit.Scope) (string, int64) {
	e.t.Helper()
	t, secret, err := e.svc.CreateImpersonationToken(context.Background(), e.principal(rootID), userID, patkit.TokenOptions{
		Name: name, Scopes: scopes, ExpiresAt: now.AddDate(0, 1, 0),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return secret, t.ID
}

// req is a request to send.
type req struct {
	method, path string
	token        string // sent as PRIVATE-TOKEN
	header       http.Header
	json         any        // JSON body
	form         url.Values // form body
	raw          string     // raw body with contentType
	contentType  string
}

type resp struct {
	code   int
	header http.Header
	body   string
}

func (e *env) do(r req) *resp {
	e.t.Helper()
	var body io.Reader
	ct := r.contentType
	switch {
	case r.json != nil:
		b, err := json.Marshal(r.json)
		if err != nil {
			e.t.Fatal(err)
		}
		body, ct = bytes.NewReader(b), "application/json"
	case r.form != nil:
		body, ct = strings.NewReader(r.form.Encode()), "application/x-www-form-urlencoded"
	case r.raw != "":
		body = strings.NewReader(r.raw)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if ct != "" {
		hr.Header.Set("Content-Type", ct)
	}
	if r.token != "" {
		hr.Header.Set("PRIVATE-TOKEN", r.token)
	}
	for k, vs := range r.header {
		hr.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, hr)
	return &resp{code: rec.Code, header: rec.Header(), body: rec.Body.String()}
}

// check compares the status and the JSON body with want (a JSON text);
// a "token" field holding a string is replaced by "<secret>".
func (r *resp) check(t *testing.T, code int, want string) {
	t.Helper()
	if r.code != code {
		t.Errorf("status = %d, want %d; body %s", r.code, code, r.body)
	}
	if want == "" {
		if r.body != "" {
			t.Errorf("body = %q, want empty", r.body)
		}
		return
	}
	var w, g any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want %s: %v", want, err)
	}
	if err := json.Unmarshal([]byte(r.body), &g); err != nil {
		t.Fatalf("body is not JSON: %q", r.body)
	}
	maskSecrets(g)
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("body mismatch (-want +got):\n%s", diff)
	}
}

func maskSecrets(v any) {
	switch x := v.(type) {
	case map[string]any:
		if s, ok := x["token"].(string); ok && strings.HasPrefix(s, "glpat-") {
			x["token"] = "<secret>"
		}
	case []any:
		for _, e := range x {
			maskSecrets(e)
		}
	}
}

// secret returns the token field of a create or rotate response.
func (r *resp) secret(t *testing.T) string {
	t.Helper()
	var v struct{ Token string }
	if err := json.Unmarshal([]byte(r.body), &v); err != nil || v.Token == "" {
		t.Fatalf("no token in %d %s", r.code, r.body)
	}
	return v.Token
}

func newJSONLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }

var errBoom = errors.New("boom")

// panicStore panics on List.
type panicStore struct{ patkit.Store }

func (panicStore) List(context.Context, *patkit.Query) ([]*patkit.Token, int, error) {
	panic("store exploded")
}

// failingList fails List with err.
type failingList struct {
	patkit.Store
	err error
}

func (f failingList) List(context.Context, *patkit.Query) ([]*patkit.Token, int, error) {
	return nil, 0, fmt.Errorf("list: %w", f.err)
}

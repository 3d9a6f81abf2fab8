package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/httpapi"
)

// countingLookups counts the Store's authentication lookups.
type countingLookups struct {
	patkit.Store
	n atomic.Int64
}

func (c *countingLookups) GetByDigest(ctx context.Context, d []byte) (*patkit.Token, error) {
	c.n.Add(1)
	return c.Store.GetByDigest(ctx, d)
}

// TestAuthenticateOnce checks that the API mounted behind its own
// Authenticate middleware, the layout a host is likely to write, looks a
// token up once per request, and that the scope check still applies.
func TestAuthenticateOnce(t *testing.T) {
	e := newEnv(t)
	readAPI, _ := e.token(aliceID, "r", patkit.ScopeReadAPI)
	store := &countingLookups{Store: e.store}
	svc, err := patkit.New(store, e.dir, bytes.Repeat([]byte("k"), 32), &patkit.Options{CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	api := httpapi.New(svc, &httpapi.Options{Logger: slog.New(slog.DiscardHandler)})
	mux := http.NewServeMux()
	mux.Handle("/api/v4/", conform(t, api))
	h := api.Authenticate(mux)

	for _, c := range []struct {
		method string
		code   int
	}{
		{"GET", 200},
		{"POST", 403}, // read_api does not pass a write
	} {
		store.n.Store(0)
		r := httptest.NewRequest(c.method, "/api/v4/personal_access_tokens/self/rotate", nil)
		if c.method == "GET" {
			r = httptest.NewRequest(c.method, "/api/v4/personal_access_tokens/self", nil)
		}
		r.Header.Set("Private-Token", readAPI)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != c.code {
			t.Errorf("%s: %d %s, want %d", c.method, rec.Code, rec.Body, c.code)
		}
		if n := store.n.Load(); n != 1 {
			t.Errorf("%s: %d store lookups for one request, want 1", c.method, n)
		}
	}
}

// TestAuthenticateOnceWithSudoAndBody checks the same for a request whose
// body is read after authentication and may name another Sudo.
func TestAuthenticateOnceWithSudoAndBody(t *testing.T) {
	e := newEnv(t)
	sudo, _ := e.token(rootID, "sudo", patkit.ScopeAPI, patkit.ScopeSudo)
	store := &countingLookups{Store: e.store}
	svc, err := patkit.New(store, e.dir, bytes.Repeat([]byte("k"), 32), &patkit.Options{CacheSize: -1, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	api := httpapi.New(svc, &httpapi.Options{Logger: slog.New(slog.DiscardHandler)})
	mux := http.NewServeMux()
	mux.Handle("/api/v4/", conform(t, api))
	h := api.Authenticate(mux)
	for _, body := range []string{`{"name":"a","scopes":["k8s_proxy"]}`, `{"name":"b","scopes":["k8s_proxy"],"sudo":"bob"}`} {
		store.n.Store(0)
		r := httptest.NewRequest("POST", "/api/v4/user/personal_access_tokens", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Private-Token", sudo)
		r.Header.Set("Sudo", "alice")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != 201 {
			t.Errorf("%s: %d %s", body, rec.Code, rec.Body)
		}
		if n := store.n.Load(); n != 1 {
			t.Errorf("%s: %d store lookups for one request, want 1", body, n)
		}
	}
}

// TestRequireScopesAlone checks that RequireScopes needs no Authenticate
// in front of it.
func TestRequireScopesAlone(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.token(aliceID, "t", patkit.ScopeReadRepository)
	h := httpapi.New(e.svc, nil).RequireScopes(patkit.ScopeReadRepository)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := httpapi.PrincipalFrom(r.Context())
		fmt.Fprint(w, p.User().Username)
	}))
	r := httptest.NewRequest("GET", "/repo?private_token="+tok, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != 200 || rec.Body.String() != "alice" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

// TestClientGone checks that a request whose client went away is not
// reported as a server error.
func TestClientGone(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.token(aliceID, "t", patkit.ScopeAPI)
	svc, err := patkit.New(failingList{e.store, context.Canceled}, e.dir, bytes.Repeat([]byte("k"), 32), nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	h := conform(t, httpapi.New(svc, &httpapi.Options{Logger: newJSONLogger(&logs)}))
	ctx, cancel := context.WithCancel(t.Context())
	r := httptest.NewRequestWithContext(ctx, "GET", "/api/v4/personal_access_tokens", nil)
	r.Header.Set("Private-Token", tok)
	cancel()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != 499 || strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("client gone: %d, logs:\n%s", rec.Code, logs.String())
	}
}

// TestDefaultLogger checks that New(svc, nil) reports failures through
// slog.Default rather than dropping them.
func TestDefaultLogger(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.token(aliceID, "t", patkit.ScopeAPI)
	svc, err := patkit.New(failingList{e.store, errBoom}, e.dir, bytes.Repeat([]byte("k"), 32), nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	old := slog.Default()
	slog.SetDefault(newJSONLogger(&logs))
	t.Cleanup(func() { slog.SetDefault(old) })
	h := conform(t, httpapi.New(svc, nil))
	r := httptest.NewRequest("GET", "/api/v4/personal_access_tokens", nil)
	r.Header.Set("Private-Token", tok)
	h.ServeHTTP(httptest.NewRecorder(), r)
	if !strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("the default logger got no error:\n%s", logs.String())
	}
}

package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/httpapi"
	"github.com/patkit/patkit/sqlitestore"
)

// TestEndToEndSQLite drives the handler over a real HTTP server on a
// SQLite store: the walkthrough of the README, with exact status codes.
func TestEndToEndSQLite(t *testing.T) {
	store, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "patkit.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := newEnv(t)
	svc, err := patkit.New(store, e.dir, bytes.Repeat([]byte("k"), 32), &patkit.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(conform(t, httpapi.New(svc, nil)))
	t.Cleanup(srv.Close)

	_, rootSecret, err := svc.CreateToken(t.Context(), e.principal(rootID), rootID, patkit.TokenOptions{
		Name: "root", Scopes: []patkit.Scope{patkit.ScopeAPI, patkit.ScopeSudo},
	})
	if err != nil {
		t.Fatal(err)
	}

	call := func(method, path, token string, body any) (*http.Response, string) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	field := func(body, name string) any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("%q: %v", body, err)
		}
		return m[name]
	}
	expect := func(resp *http.Response, body string, code int) {
		t.Helper()
		if resp.StatusCode != code {
			t.Fatalf("%s %s: %d %s, want %d", resp.Request.Method, resp.Request.URL, resp.StatusCode, body, code)
		}
	}

	// Root creates a token for alice.
	resp, body := call("POST", "/api/v4/users/2/personal_access_tokens", rootSecret,
		map[string]any{"name": "laptop", "scopes": []string{"api"}, "expires_at": "2026-06-01"})
	expect(resp, body, 201)
	alice := field(body, "token").(string)

	// Alice uses it, creates three more through sudo, and pages through.
	resp, body = call("GET", "/api/v4/personal_access_tokens/self", alice, nil)
	expect(resp, body, 200)
	if field(body, "last_used_at") != "2026-03-01T12:00:00.123Z" || field(body, "expires_at") != "2026-06-01" {
		t.Errorf("self: %s", body)
	}
	for _, n := range []string{"a", "b", "c"} {
		resp, body = call("POST", "/api/v4/user/personal_access_tokens?sudo=alice", rootSecret,
			map[string]any{"name": n, "scopes": []string{"k8s_proxy"}})
		expect(resp, body, 201)
	}
	resp, body = call("GET", "/api/v4/personal_access_tokens?per_page=3&page=2", alice, nil)
	expect(resp, body, 200)
	if resp.Header.Get("X-Total") != "4" || resp.Header.Get("X-Prev-Page") != "1" || !strings.Contains(resp.Header.Get("Link"), srv.URL) {
		t.Errorf("headers: %v", resp.Header)
	}

	// A project token by full path, through a real client: %2F survives.
	resp, body = call("POST", "/api/v4/projects/acme%2Fwidgets/access_tokens", alice,
		map[string]any{"name": "deploy", "scopes": []string{"read_api"}, "access_level": 30})
	expect(resp, body, 201)
	projID := int64(field(body, "id").(float64))
	projSecret := field(body, "token").(string)
	resp, body = call("GET", "/api/v4/projects/acme%2Fwidgets/access_tokens", projSecret, nil)
	expect(resp, body, 401) // a Developer bot may not list
	if !strings.Contains(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("content type %q", resp.Header.Get("Content-Type"))
	}

	// Rotate, then the old secret is revoked and reusing it on a rotate
	// path revokes the new one.
	resp, body = call("POST", "/api/v4/personal_access_tokens/self/rotate", alice, nil)
	expect(resp, body, 200)
	alice2 := field(body, "token").(string)
	resp, body = call("GET", "/api/v4/personal_access_tokens/self", alice, nil)
	expect(resp, body, 401)
	if resp.Header.Get("WWW-Authenticate") == "" {
		t.Error("no WWW-Authenticate")
	}
	resp, body = call("POST", "/api/v4/projects/1/access_tokens/"+itoa(projID)+"/rotate", alice2, nil)
	expect(resp, body, 200)
	resp, body = call("POST", "/api/v4/personal_access_tokens/self/rotate", alice, nil)
	expect(resp, body, 401)
	resp, body = call("GET", "/api/v4/personal_access_tokens/self", alice2, nil)
	expect(resp, body, 401)

	// Revoke with 204 and an empty body.
	resp, body = call("DELETE", "/api/v4/personal_access_tokens/self", rootSecret, nil)
	expect(resp, body, 204)
	if body != "" {
		t.Errorf("204 body %q", body)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

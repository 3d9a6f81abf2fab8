package httpapi_test

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/patkit/patkit"
)

// FuzzAPI sends arbitrary paths, queries and bodies: nothing may answer 5xx
// or anything but JSON.
func FuzzAPI(f *testing.F) {
	seeds := []struct{ method, path, ct, body string }{
		{"GET", "/api/v4/personal_access_tokens?revoked=1&state=active&created_after=2026-01-01&sort=name_desc&page=2&per_page=1", "", ""},
		{"POST", "/api/v4/users/2/personal_access_tokens", "application/json", `{"name":"x","scopes":["api"],"expires_at":"2026-05-01"}`},
		{"POST", "/api/v4/users/2/impersonation_tokens", "application/x-www-form-urlencoded", "name=x&scopes[]=api&expires_at=2026-05-01"},
		{"POST", "/api/v4/projects/acme%2Fwidgets/access_tokens", "application/json", `{"name":"x","scopes":["api"],"access_level":30}`},
		{"POST", "/api/v4/groups/1/access_tokens/1/rotate", "application/json", `{"expires_at":[1]}`},
		{"DELETE", "/api/v4/personal_access_tokens/1", "multipart/form-data; boundary=x", "--x\r\n"},
		{"POST", "/api/v4/personal_access_tokens/self/rotate?sudo=alice", "application/json", `{"sudo":{"a":1}}`},
		{"GET", "/api/v4/users/2/impersonation_tokens/1e9", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.ct, s.body)
	}
	e := newEnv(f)
	root, _ := e.token(rootID, "root", patkit.ScopeAPI, patkit.ScopeSudo)
	alice, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
	e.resourceToken(patkit.ResourceProject, "bot", 30, patkit.ScopeAPI)
	e.impersonationToken(aliceID, "imp", patkit.ScopeAPI)
	f.Fuzz(func(t *testing.T, method, path, ct, body string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t#") {
			return
		}
		if _, err := url.ParseRequestURI(path); err != nil {
			return // the server rejects the request line
		}
		switch method {
		case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
		default:
			method = "POST"
		}
		for _, tok := range []string{root, alice} {
			r := httptest.NewRequest(method, "http://example.com"+path, strings.NewReader(body))
			if ct != "" {
				r.Header.Set("Content-Type", ct)
			}
			r.Header.Set("Private-Token", tok)
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, r)
			if rec.Code >= 500 {
				t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
			}
			if rec.Code >= 300 && rec.Code < 400 || rec.Code == 204 || method == "HEAD" {
				continue
			}
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("%s %s: %d not JSON: %q", method, path, rec.Code, rec.Body)
			}
		}
	})
}

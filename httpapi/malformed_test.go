package httpapi_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/patkit/patkit"
)

// TestMalformedStrings checks GitLab's answer to a NUL byte or invalid
// UTF-8 anywhere in the path or the parameters: 400 "Bad Request" in plain
// text, before anything is stored or even looked up.
func TestMalformedStrings(t *testing.T) {
	e := newEnv(t)
	root, _ := e.token(rootID, "root", patkit.ScopeAPI)
	for _, rq := range []req{
		{method: "POST", path: "/api/v4/users/2/personal_access_tokens", form: url.Values{"name": {"a\x00b"}, "scopes[]": {"api"}}},
		{method: "POST", path: "/api/v4/users/2/personal_access_tokens", form: url.Values{"name": {"a\xffb"}, "scopes[]": {"api"}}},
		{method: "POST", path: "/api/v4/users/2/personal_access_tokens?name=a%00b&scopes[]=api"},
		{method: "POST", path: "/api/v4/users/2/personal_access_tokens", json: map[string]any{"name": "ok", "description": "a\x00b", "scopes": []string{"api"}}},
		{method: "POST", path: "/api/v4/users/2/personal_access_tokens", json: map[string]any{"name": "ok", "scopes": []string{"api\x00"}}},
		{method: "GET", path: "/api/v4/personal_access_tokens?search=%00"},
		{method: "GET", path: "/api/v4/personal_access_tokens?search=%ff"},
		{method: "GET", path: "/api/v4/personal_access_tokens?se%00arch=x"},
		{method: "GET", path: "/api/v4/projects/acme%00/access_tokens"},
	} {
		rq.token = root
		r := e.do(rq)
		if r.code != 400 || r.body != "Bad Request" || r.header.Get("Content-Type") != "text/plain" {
			t.Errorf("%s %s: %d %q %q", rq.method, rq.path, r.code, r.header.Get("Content-Type"), r.body)
		}
	}
	r := e.do(req{method: "GET", path: "/api/v4/personal_access_tokens", token: root})
	if r.code != 200 || r.header.Get("X-Total") != "1" {
		t.Errorf("after the refusals: %d, X-Total %s; want only root's token", r.code, r.header.Get("X-Total"))
	}
}

// TestSearchLimits checks that a search past the limits is a parameter
// error, as Grape reports one.
func TestSearchLimits(t *testing.T) {
	e := newEnv(t)
	root, _ := e.token(rootID, "root", patkit.ScopeAPI)
	long := strings.Repeat("x", patkit.MaxSearchLen+1)
	var words string
	for i := range patkit.MaxSearchTerms + 1 {
		words += fmt.Sprintf("w%03d ", i)
	}
	for _, c := range []struct{ path, body string }{
		{"/api/v4/personal_access_tokens?search=" + long, `{"error":"search is too long (maximum is 4096 characters)"}`},
		{"/api/v4/projects/1/access_tokens?search=" + long, `{"error":"search is too long (maximum is 4096 characters)"}`},
		{"/api/v4/personal_access_tokens?search=" + url.QueryEscape(words), `{"error":"search is too long (maximum is 64 terms)"}`},
	} {
		e.do(req{method: "GET", path: c.path, token: root}).check(t, 400, c.body)
	}
}

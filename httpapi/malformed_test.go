package httpapi_test

import (
	"net/url"
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

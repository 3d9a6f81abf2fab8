package httpapi_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/httpapi"
)

// TestLiteralRoutes holds the Handler's lookup of the routes without
// wildcards to ServeMux's choice: for every such path, as registered and
// written otherwise, and every method, the lookup either finds the route
// the mux matches or leaves the request to the mux; and it does find the
// routes as registered, and GET ones for HEAD.
func TestLiteralRoutes(t *testing.T) {
	h := newEnv(t).api
	methods := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "get"}
	found := 0
	for _, rt := range httpapi.Routes() {
		if strings.Contains(rt.Path, "{") {
			continue
		}
		last := rt.Path[strings.LastIndexByte(rt.Path, '/')+1:]
		escaped := rt.Path[:len(rt.Path)-len(last)] + "%" + strings.ToUpper(hex(last[0])) + last[1:]
		for _, target := range []string{rt.Path, rt.Path + "/", escaped, strings.Replace(rt.Path, "/api/", "/api//", 1),
			rt.Path + "/.", "http://other.example" + rt.Path, rt.Path + "?private_token=x"} {
			for _, m := range methods {
				r := httptest.NewRequest(m, target, nil)
				literal, mux := httpapi.Dispatch(h, r)
				if literal != "" && literal != mux {
					t.Errorf("%s %s: served as %q, the mux matches %q", m, target, literal, mux)
				}
				registered := target == rt.Path || strings.HasPrefix(target, rt.Path+"?") || strings.HasPrefix(target, "http:")
				if registered && (m == rt.Method || m == "HEAD" && rt.Method == "GET") {
					if literal == "" {
						t.Errorf("%s %s: left to the mux", m, target)
					}
					found++
				}
			}
		}
	}
	if found == 0 {
		t.Fatal("no route without wildcards")
	}
}

func hex(b byte) string { return string("0123456789abcdef"[b>>4]) + string("0123456789abcdef"[b&15]) }

// TestUncleanPaths: a path that is not clean (a doubled slash, a dot
// segment) names no route. GitLab answers such a path 404, as a client
// with a trailing slash on its base URL finds; ServeMux would redirect it
// to the clean path with an HTML body, which no GitLab client expects.
func TestUncleanPaths(t *testing.T) {
	e := newEnv(t)
	root, _ := e.token(rootID, "root", patkit.ScopeAPI)
	for _, path := range []string{
		"//", "/./", "/api//v4/user", "//api/v4/version", "/api/v4//personal_access_tokens", "/api/v4/personal_access_tokens/",
		"/api/v4/./version", "/api/v4/user/../version", "/api/v4/personal_access_tokens/.", "/api/v4/personal_access_tokens/self/",
	} {
		for _, method := range []string{"GET", "POST", "DELETE"} {
			r := e.do(req{method: method, path: path, token: root})
			if r.code != 404 || r.body != `{"message":"404 Not Found"}` || r.header.Get("Location") != "" {
				t.Errorf("%s %s: %d %q, Location %q; want GitLab's 404", method, path, r.code, r.body, r.header.Get("Location"))
			}
		}
	}
}

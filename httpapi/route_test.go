package httpapi_test

import (
	"net/http/httptest"
	"strings"
	"testing"

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

package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/httpapi"
)

func TestMiddleware(t *testing.T) {
	e := newEnv(t)
	api, _ := e.token(aliceID, "api", patkit.ScopeAPI)
	readRepo, _ := e.token(aliceID, "rr", patkit.ScopeReadRepository)
	k8s, _ := e.token(aliceID, "k8s", patkit.ScopeK8sProxy)
	revoked, revokedID := e.token(aliceID, "old", patkit.ScopeAPI)
	if err := e.svc.RevokeToken(t.Context(), e.principal(aliceID), revokedID); err != nil {
		t.Fatal(err)
	}
	rootSudo, _ := e.token(rootID, "sudo", patkit.ScopeSudo)

	whoami := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := httpapi.PrincipalFrom(r.Context())
		if !ok {
			fmt.Fprint(w, "anonymous")
			return
		}
		fmt.Fprint(w, p.User().Username)
	})
	mux := http.NewServeMux()
	mux.Handle("/public", whoami)
	tokens := httpapi.New(e.svc, nil)
	mux.Handle("/repo", tokens.RequireScopes(patkit.ScopeReadRepository)(whoami))
	mux.Handle("/any", tokens.RequireScopes()(whoami))
	h := tokens.Authenticate(mux)

	tests := []struct {
		name   string
		method string
		path   string
		header http.Header
		code   int
		body   string
	}{
		{"anonymous passes through", "GET", "/public", nil, 200, "anonymous"},
		{"authenticated public", "GET", "/public", http.Header{"Private-Token": {k8s}}, 200, "alice"},
		{"query parameter", "GET", "/public?private_token=" + k8s, nil, 200, "alice"},
		// A repeated parameter is its last value, as in Rack.
		{"query parameter repeated, the last counts", "GET", "/public?private_token=glpat-nope&private_token=" + k8s, nil, 200, "alice"},
		{"query parameter repeated, the last unknown", "GET", "/public?private_token=" + k8s + "&private_token=glpat-nope", nil, 401, `{"message":"401 Unauthorized"}`},
		{"query parameter repeated, the last empty", "GET", "/public?private_token=" + k8s + "&private_token=", nil, 200, "anonymous"},
		{"sudo repeated, the last counts", "GET", "/repo?sudo=nobody&sudo=bob", http.Header{"Private-Token": {rootSudo}}, 200, "bob"},
		{"revoked is refused everywhere", "GET", "/public", http.Header{"Authorization": {"Bearer " + revoked}}, 401,
			`{"error":"invalid_token","error_description":"Token was revoked. You have to re-authorize from the user."}`},
		{"unknown is refused", "GET", "/public", http.Header{"Private-Token": {"glpat-nope"}}, 401, `{"message":"401 Unauthorized"}`},
		{"anonymous on protected", "GET", "/repo", nil, 401, `{"message":"401 Unauthorized"}`},
		{"scope held", "POST", "/repo", http.Header{"Private-Token": {readRepo}}, 200, "alice"},
		{"api passes", "DELETE", "/repo", http.Header{"Private-Token": {api}}, 200, "alice"},
		{"scope missing", "GET", "/repo", http.Header{"Private-Token": {k8s}}, 403,
			`{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"read_repository api read_api"}`},
		{"no scopes: api or read_api", "POST", "/any", http.Header{"Private-Token": {readRepo}}, 403,
			`{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"api read_api"}`},
		{"sudo skips the endpoint scopes", "GET", "/repo", http.Header{"Private-Token": {rootSudo}, "Sudo": {"bob"}}, 200, "bob"},
		{"sudo refused", "GET", "/public?sudo=bob", http.Header{"Private-Token": {api}}, 403, `{"message":"403 Forbidden - Must be admin to use sudo"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, nil)
			for k, v := range tt.header {
				r.Header[k] = v
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.code || strings.TrimSpace(rec.Body.String()) != tt.body {
				t.Errorf("got %d %s, want %d %s", rec.Code, rec.Body, tt.code, tt.body)
			}
		})
	}
}

func TestWithPrincipal(t *testing.T) {
	e := newEnv(t)
	p, err := e.svc.Principal(t.Context(), aliceID, false)
	if err != nil {
		t.Fatal(err)
	}
	h := httpapi.New(e.svc, nil).RequireScopes(patkit.ScopeAPI)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ := httpapi.PrincipalFrom(r.Context())
		fmt.Fprint(w, got.User().Username)
	}))
	r := httptest.NewRequest("POST", "/", nil)
	r = r.WithContext(httpapi.WithPrincipal(r.Context(), p))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != 200 || rec.Body.String() != "alice" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/patkit/patkit"
)

func TestCreateTokenForUser(t *testing.T) {
	e := newEnv(t)
	rootTok, _ := e.token(rootID, "root", patkit.ScopeAPI)
	aliceTok, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
	created := func(id int64, userID int64, desc, scopes, expires string) string {
		return fmt.Sprintf(`{"id":%d,"name":"ci","revoked":false,"created_at":"2026-03-01T12:00:00.123Z","description":%s,"scopes":%s,"user_id":%d,"last_used_at":null,"active":true,"granular":false,"expires_at":%q,"last_used_ips":[],"token":"<secret>"}`,
			id, desc, scopes, userID, expires)
	}
	tests := []struct {
		name string
		r    req
		code int
		body string
	}{
		{"JSON body", req{method: "POST", path: "/api/v4/users/2/personal_access_tokens", token: rootTok,
			json: map[string]any{"name": "ci", "scopes": []string{"api", "read_user"}, "expires_at": "2026-12-31", "description": "for CI"}},
			201, created(3, aliceID, `"for CI"`, `["api","read_user"]`, "2026-12-31")},
		{"form with scopes[] and default expiry", req{method: "POST", path: "/api/v4/users/2/personal_access_tokens", token: rootTok,
			form: url.Values{"name": {"ci"}, "scopes[]": {"read_api", "read_user"}}},
			201, created(4, aliceID, "null", `["read_api","read_user"]`, "2027-03-01")},
		{"comma-separated scopes in the query", req{method: "POST", path: "/api/v4/users/2/personal_access_tokens?name=ci&scopes=api,read_api", token: rootTok},
			201, created(5, aliceID, "null", `["api","read_api"]`, "2027-03-01")},
		{"comma-separated JSON string", req{method: "POST", path: "/api/v4/users/2/personal_access_tokens", token: rootTok,
			json: map[string]any{"name": "ci", "scopes": "api, read_api"}},
			201, created(6, aliceID, "null", `["api","read_api"]`, "2027-03-01")},
		{"missing name and scopes", req{method: "POST", path: "/api/v4/users/2/personal_access_tokens", token: rootTok},
			400, `{"error":"name is missing, scopes is missing"}`},
		{"unknown scope", req{method: "POST", path: "/api/v4/users/2/personal_access_tokens", token: rootTok,
			json: map[string]any{"name": "ci", "scopes": []string{"api", "write_everything"}}},
			400, `{"error":"scopes does not have a valid value"}`},
		{"wrong JSON types", req{method: "POST", path: "/api/v4/users/2/personal_access_tokens", token: rootTok,
			json: map[string]any{"name": map[string]any{}, "scopes": []any{1}, "expires_at": true}},
			400, `{"error":"name is invalid, scopes is invalid, expires_at is invalid"}`},
		{"expires_at the zero time's date", req{method: "POST", path: "/api/v4/users/2/personal_access_tokens", token: rootTok,
			json: map[string]any{"name": "ci", "scopes": []string{"api"}, "expires_at": "0001-01-01"}},
			400, `{"error":"expires_at is invalid"}`},
		{"blank name: 422", req{method: "POST", path: "/api/v4/users/2/personal_access_tokens", token: rootTok,
			json: map[string]any{"name": " ", "scopes": []string{"api"}}},
			422, `{"message":"Name can't be blank"}`},
		{"too late and sudo for non-admin: 422 sentence", req{method: "POST", path: "/api/v4/users/2/personal_access_tokens", token: rootTok,
			json: map[string]any{"name": "ci", "scopes": []string{"api", "sudo"}, "expires_at": "2030-01-01"}},
			422, `{"message":"Expiration date must be before 2027-03-01 and Sudo can only be enabled for administrators"}`},
		{"unknown user", req{method: "POST", path: "/api/v4/users/99/personal_access_tokens", token: rootTok,
			json: map[string]any{"name": "ci", "scopes": []string{"api"}}},
			404, `{"message":"404 User Not Found"}`},
		{"non-admin", req{method: "POST", path: "/api/v4/users/3/personal_access_tokens", token: aliceTok,
			json: map[string]any{"name": "ci", "scopes": []string{"api"}}},
			403, `{"message":"403 Forbidden"}`},
		{"invalid user_id", req{method: "POST", path: "/api/v4/users/x/personal_access_tokens", token: rootTok,
			json: map[string]any{"name": "ci", "scopes": []string{"api"}}},
			400, `{"error":"user_id is invalid"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.do(tt.r).check(t, tt.code, tt.body)
		})
	}
}

func TestCreateOwnToken(t *testing.T) {
	e := newEnv(t)
	aliceTok, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
	readAPI, _ := e.token(aliceID, "ra", patkit.ScopeReadAPI)
	botTok, _ := e.resourceToken(patkit.ResourceProject, "bot", 30, patkit.ScopeAPI)
	tests := []struct {
		name string
		r    req
		code int
		body string
	}{
		{"k8s_proxy", req{method: "POST", path: "/api/v4/user/personal_access_tokens", token: aliceTok,
			form: url.Values{"name": {"agent"}, "scopes": {"k8s_proxy,self_rotate"}}},
			201, `{"id":4,"name":"agent","revoked":false,"created_at":"2026-03-01T12:00:00.123Z","description":null,"scopes":["k8s_proxy","self_rotate"],"user_id":2,"last_used_at":null,"active":true,"granular":false,"expires_at":"2027-03-01","last_used_ips":[],"token":"<secret>"}`},
		{"api not allowed", req{method: "POST", path: "/api/v4/user/personal_access_tokens", token: aliceTok,
			json: map[string]any{"name": "agent", "scopes": []string{"api"}}},
			400, `{"error":"scopes does not have a valid value"}`},
		{"scopes missing", req{method: "POST", path: "/api/v4/user/personal_access_tokens", token: aliceTok,
			json: map[string]any{"name": "agent"}},
			400, `{"error":"scopes is missing"}`},
		{"read_api cannot POST", req{method: "POST", path: "/api/v4/user/personal_access_tokens", token: readAPI,
			json: map[string]any{"name": "agent", "scopes": []string{"k8s_proxy"}}},
			403, scopeBody("read_user api read_api")},
		{"bots may not", req{method: "POST", path: "/api/v4/user/personal_access_tokens", token: botTok,
			json: map[string]any{"name": "agent", "scopes": []string{"k8s_proxy"}}},
			422, `{"message":"Not permitted to create"}`},
		{"expiry too late", req{method: "POST", path: "/api/v4/user/personal_access_tokens", token: aliceTok,
			json: map[string]any{"name": "agent", "scopes": []string{"k8s_proxy"}, "expires_at": "2027-03-02"}},
			422, `{"message":"Expiration date must be before 2027-03-01"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.do(tt.r).check(t, tt.code, tt.body)
		})
	}
}

func impJSON(id, userID int64, name, expires string, secret bool) string {
	s := fmt.Sprintf(`{"id":%d,"name":%q,"revoked":false,"created_at":"2026-03-01T12:00:00.123Z","description":null,"scopes":["api"],"user_id":%d,"last_used_at":null,"active":true,"granular":false,"expires_at":%q,"last_used_ips":[],"impersonation":true`,
		id, name, userID, expires)
	if secret {
		s += `,"token":"<secret>"`
	}
	return s + "}"
}

func TestImpersonationTokens(t *testing.T) {
	e := newEnv(t)
	rootTok, _ := e.token(rootID, "root", patkit.ScopeAPI)
	readUser, _ := e.token(rootID, "ru", patkit.ScopeReadUser)
	aliceTok, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
	_, aliceImp := e.impersonationToken(aliceID, "imp", patkit.ScopeAPI)
	_, bobImp := e.impersonationToken(bobID, "bobimp", patkit.ScopeAPI)
	_, alicePAT := e.token(aliceID, "pat", patkit.ScopeAPI)

	tests := []struct {
		name string
		r    req
		code int
		body string
	}{
		{"list", req{method: "GET", path: "/api/v4/users/2/impersonation_tokens", token: readUser}, 200, "[" + impJSON(aliceImp, aliceID, "imp", "2026-04-01", false) + "]"},
		{"list active", req{method: "GET", path: "/api/v4/users/2/impersonation_tokens?state=active", token: rootTok}, 200, "[" + impJSON(aliceImp, aliceID, "imp", "2026-04-01", false) + "]"},
		{"list inactive", req{method: "GET", path: "/api/v4/users/2/impersonation_tokens?state=inactive", token: rootTok}, 200, "[]"},
		{"list bad state", req{method: "GET", path: "/api/v4/users/2/impersonation_tokens?state=gone", token: rootTok}, 400, `{"error":"state does not have a valid value"}`},
		{"list unknown user", req{method: "GET", path: "/api/v4/users/99/impersonation_tokens", token: rootTok}, 404, `{"message":"404 User Not Found"}`},
		{"list non-admin before validation", req{method: "GET", path: "/api/v4/users/x/impersonation_tokens?state=gone", token: aliceTok}, 403, `{"message":"403 Forbidden"}`},
		{"get", req{method: "GET", path: fmt.Sprint("/api/v4/users/2/impersonation_tokens/", aliceImp), token: rootTok}, 200, impJSON(aliceImp, aliceID, "imp", "2026-04-01", false)},
		{"get other user's", req{method: "GET", path: fmt.Sprint("/api/v4/users/2/impersonation_tokens/", bobImp), token: rootTok}, 404, `{"message":"404 Impersonation Token Not Found"}`},
		{"get a PAT", req{method: "GET", path: fmt.Sprint("/api/v4/users/2/impersonation_tokens/", alicePAT), token: rootTok}, 404, `{"message":"404 Impersonation Token Not Found"}`},
		{"get bad id", req{method: "GET", path: "/api/v4/users/2/impersonation_tokens/x", token: rootTok}, 400, `{"error":"impersonation_token_id is invalid"}`},
		{"get non-admin", req{method: "GET", path: fmt.Sprint("/api/v4/users/2/impersonation_tokens/", aliceImp), token: aliceTok}, 403, `{"message":"403 Forbidden"}`},
		{"create", req{method: "POST", path: "/api/v4/users/3/impersonation_tokens", token: rootTok,
			json: map[string]any{"name": "new", "scopes": "api", "expires_at": "2026-05-01"}},
			201, impJSON(7, bobID, "new", "2026-05-01", true)},
		{"create: no default expiry", req{method: "POST", path: "/api/v4/users/3/impersonation_tokens", token: rootTok,
			json: map[string]any{"name": "new", "scopes": []string{"api"}}},
			400, `{"message":{"expires_at":["can't be blank"]}}`},
		{"create: model errors keyed by attribute", req{method: "POST", path: "/api/v4/users/3/impersonation_tokens", token: rootTok,
			json: map[string]any{"name": "new", "scopes": []string{"nope"}, "expires_at": "2030-01-01"}},
			400, `{"message":{"scopes":["can only contain available scopes"],"expires_at":["must be before 2027-03-01"]}}`},
		{"create: base errors", req{method: "POST", path: "/api/v4/users/3/impersonation_tokens", token: rootTok,
			json: map[string]any{"name": "new", "scopes": []string{"sudo"}, "expires_at": "2026-05-01"}},
			400, `{"message":{"base":["Sudo can only be enabled for administrators"]}}`},
		{"create: name missing", req{method: "POST", path: "/api/v4/users/3/impersonation_tokens", token: rootTok},
			400, `{"error":"name is missing"}`},
		{"create: non-admin", req{method: "POST", path: "/api/v4/users/3/impersonation_tokens", token: aliceTok},
			403, `{"message":"403 Forbidden"}`},
		{"create: read_user cannot POST", req{method: "POST", path: "/api/v4/users/3/impersonation_tokens", token: readUser},
			403, scopeBody("read_user api read_api")},
		{"revoke", req{method: "DELETE", path: fmt.Sprint("/api/v4/users/2/impersonation_tokens/", aliceImp), token: rootTok}, 204, ""},
		{"revoke again", req{method: "DELETE", path: fmt.Sprint("/api/v4/users/2/impersonation_tokens/", aliceImp), token: rootTok}, 204, ""},
		{"revoke other user's", req{method: "DELETE", path: fmt.Sprint("/api/v4/users/2/impersonation_tokens/", bobImp), token: rootTok}, 404, `{"message":"404 Impersonation Token Not Found"}`},
		{"revoke non-admin", req{method: "DELETE", path: fmt.Sprint("/api/v4/users/3/impersonation_tokens/", bobImp), token: aliceTok}, 403, `{"message":"403 Forbidden"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.do(tt.r).check(t, tt.code, tt.body)
		})
	}
}

// TestImpersonationIfUnmodifiedSince: DELETE
// /users/:user_id/impersonation_tokens/:id answers 412 and leaves the
// token as it was when it changed (was created) after If-Unmodified-Since;
// a time at or after that, or a value that does not parse, lets it
// through, as GitLab does.
func TestImpersonationIfUnmodifiedSince(t *testing.T) {
	e := newEnv(t)
	rootTok, _ := e.token(rootID, "root", patkit.ScopeAPI)
	impSecret, imp := e.impersonationToken(aliceID, "imp", patkit.ScopeAPI)
	path := fmt.Sprint("/api/v4/users/2/impersonation_tokens/", imp)
	del := func(since string) req {
		return req{method: "DELETE", path: path, token: rootTok, header: http.Header{"If-Unmodified-Since": {since}}}
	}
	// Created at 12:00:00.123 UTC on 2026-03-01 (the test clock).
	for _, c := range []struct {
		name, since string
	}{
		{"HTTP date, before creation", "Sun, 01 Mar 2026 11:59:59 GMT"},
		{"HTTP date, the second of creation (its milliseconds are later)", "Sun, 01 Mar 2026 12:00:00 GMT"},
		{"RFC 3339, before creation", "2026-03-01T12:00:00.1Z"},
		{"another zone, before creation", "2026-03-01T13:00:00+02:00"},
	} {
		t.Run(c.name, func(t *testing.T) { e.do(del(c.since)).check(t, 412, `{"message":"412 Precondition Failed"}`) })
		if r := e.do(req{method: "GET", path: "/api/v4/personal_access_tokens/self", token: impSecret}); r.code != 200 {
			t.Errorf("%s: the token no longer works: %d %s", c.name, r.code, r.body)
		}
	}
	e.do(del("not a date")).check(t, 204, "")
	e.do(req{method: "GET", path: "/api/v4/personal_access_tokens/self", token: impSecret}).check(t, 401,
		`{"error":"invalid_token","error_description":"Token was revoked. You have to re-authorize from the user."}`)

	_, imp2 := e.impersonationToken(aliceID, "imp2", patkit.ScopeAPI)
	e.do(req{method: "DELETE", path: fmt.Sprint("/api/v4/users/2/impersonation_tokens/", imp2), token: rootTok,
		header: http.Header{"If-Unmodified-Since": {"Sun, 01 Mar 2026 12:00:01 GMT"}}}).check(t, 204, "")
	// Unknown token: 404 before the precondition, as GitLab finds it first.
	e.do(req{method: "DELETE", path: "/api/v4/users/2/impersonation_tokens/999", token: rootTok,
		header: http.Header{"If-Unmodified-Since": {"Sun, 01 Mar 2026 11:00:00 GMT"}}}).check(t, 404, `{"message":"404 Impersonation Token Not Found"}`)
}

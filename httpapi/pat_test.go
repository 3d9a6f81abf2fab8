package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/patkit/patkit"
)

// patJSON is the PersonalAccessTokenWithLastUsedIps entity of a token
// created by env.token at now and used once at now from httptest's address.
func patJSON(id, userID int64, name, scopes string, used bool) string {
	lastUsed, ips := "null", "[]"
	if used {
		lastUsed, ips = `"2026-03-01T12:00:00.123Z"`, `["192.0.2.1"]`
	}
	return fmt.Sprintf(`{"id":%d,"name":%q,"revoked":false,"created_at":"2026-03-01T12:00:00.123Z","description":null,`+
		`"scopes":%s,"user_id":%d,"last_used_at":%s,"active":true,"granular":false,"expires_at":"2027-03-01","last_used_ips":%s}`,
		id, name, scopes, userID, lastUsed, ips)
}

func TestListTokens(t *testing.T) {
	e := newEnv(t)
	rootTok, _ := e.token(rootID, "root", patkit.ScopeAPI, patkit.ScopeSudo)
	aliceTok, _ := e.token(aliceID, "alice", patkit.ScopeReadAPI)
	e.token(bobID, "bob", patkit.ScopeAPI)
	e.impersonationToken(aliceID, "imp", patkit.ScopeAPI)

	alice1 := patJSON(2, aliceID, "alice", `["read_api"]`, true)
	tests := []struct {
		name string
		r    req
		code int
		body string
	}{
		{"non-admin sees own non-impersonation tokens", req{method: "GET", path: "/api/v4/personal_access_tokens", token: aliceTok}, 200, "[" + alice1 + "]"},
		{"non-admin own user_id", req{method: "GET", path: "/api/v4/personal_access_tokens?user_id=2", token: aliceTok}, 200, "[" + alice1 + "]"},
		{"non-admin foreign user_id", req{method: "GET", path: "/api/v4/personal_access_tokens?user_id=3", token: aliceTok}, 401, body401},
		{"non-admin non-integer user_id", req{method: "GET", path: "/api/v4/personal_access_tokens?user_id=bob", token: aliceTok}, 401, body401},
		{"non-admin empty user_id", req{method: "GET", path: "/api/v4/personal_access_tokens?user_id=", token: aliceTok}, 200, "[" + alice1 + "]"},
		{"admin user_id with impersonation", req{method: "GET", path: "/api/v4/personal_access_tokens?user_id=2&sort=id_desc", token: rootTok}, 200,
			"[" + alice1 + `,{"id":4,"name":"imp","revoked":false,"created_at":"2026-03-01T12:00:00.123Z","description":null,"scopes":["api"],"user_id":2,"last_used_at":null,"active":true,"granular":false,"expires_at":"2026-04-01","last_used_ips":[]}]`},
		{"admin unknown user_id", req{method: "GET", path: "/api/v4/personal_access_tokens?user_id=99", token: rootTok}, 404, `{"message":"404 Not Found"}`},
		{"admin empty user_id", req{method: "GET", path: "/api/v4/personal_access_tokens?user_id=", token: rootTok}, 404, `{"message":"404 Not Found"}`},
		{"admin user_id=0", req{method: "GET", path: "/api/v4/personal_access_tokens?user_id=0", token: rootTok}, 404, `{"message":"404 Not Found"}`},
		{"admin invalid user_id", req{method: "GET", path: "/api/v4/personal_access_tokens?user_id=x", token: rootTok}, 400, `{"error":"user_id is invalid"}`},
		{"revoked invalid", req{method: "GET", path: "/api/v4/personal_access_tokens?revoked=maybe", token: aliceTok}, 400, `{"error":"revoked is invalid"}`},
		{"state invalid", req{method: "GET", path: "/api/v4/personal_access_tokens?state=all", token: aliceTok}, 400, `{"error":"state does not have a valid value"}`},
		{"per_page 0", req{method: "GET", path: "/api/v4/personal_access_tokens?per_page=0", token: aliceTok}, 400, `{"error":"per_page has a value not allowed"}`},
		{"page invalid", req{method: "GET", path: "/api/v4/personal_access_tokens?page=one", token: aliceTok}, 400, `{"error":"page is invalid"}`},
		{"dates invalid", req{method: "GET", path: "/api/v4/personal_access_tokens?created_before=x&last_used_after=2026-13-01&expires_before=tomorrow", token: aliceTok}, 400,
			`{"error":"created_before is invalid, last_used_after is invalid, expires_before is invalid"}`},
		// The first instant of year 1 is the zero time.Time, which the
		// Service reads as no bound: refused rather than ignored.
		{"dates at the zero time", req{method: "GET", path: "/api/v4/personal_access_tokens?created_before=0001-01-01&last_used_after=0001-01-01T00:00:00Z&expires_before=0001-01-01&created_after=0001-01-01T02:00:00%2B02:00", token: aliceTok}, 400,
			`{"error":"created_before is invalid, created_after is invalid, last_used_after is invalid, expires_before is invalid"}`},
		{"dates just after the zero time", req{method: "GET", path: "/api/v4/personal_access_tokens?created_before=0001-01-01T00:00:01Z&expires_before=0001-01-02", token: aliceTok}, 200, "[]"},
		{"several failures joined", req{method: "GET", path: "/api/v4/personal_access_tokens?revoked=x&state=y&per_page=0", token: aliceTok}, 400,
			`{"error":"revoked is invalid, state does not have a valid value, per_page has a value not allowed"}`},
		{"revoked=false filter", req{method: "GET", path: "/api/v4/personal_access_tokens?revoked=no&state=active&created_after=2026-03-01&last_used_before=2026-03-01T13:00:00Z&expires_after=2027-03-01&search=ALI", token: aliceTok}, 200, "[" + alice1 + "]"},
		{"revoked=true filter", req{method: "GET", path: "/api/v4/personal_access_tokens?revoked=t", token: aliceTok}, 200, "[]"},
		{"expires_before excludes", req{method: "GET", path: "/api/v4/personal_access_tokens?expires_before=2027-03-01", token: aliceTok}, 200, "[]"},
		{"created_before date-only is midnight", req{method: "GET", path: "/api/v4/personal_access_tokens?created_before=2026-03-01", token: aliceTok}, 200, "[]"},
		{"unknown sort ignored", req{method: "GET", path: "/api/v4/personal_access_tokens?sort=bogus", token: aliceTok}, 200, "[" + alice1 + "]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.do(tt.r).check(t, tt.code, tt.body)
		})
	}
}

func TestListTokensAdminAll(t *testing.T) {
	e := newEnv(t)
	rootTok, _ := e.token(rootID, "root", patkit.ScopeAPI)
	e.token(bobID, "bob", patkit.ScopeAPI)
	e.resourceToken(patkit.ResourceProject, "bot", 30, patkit.ScopeReadAPI)
	r := e.do(req{method: "GET", path: "/api/v4/personal_access_tokens?sort=name_asc", token: rootTok})
	r.check(t, 200, "["+
		patJSON(2, bobID, "bob", `["api"]`, false)+","+
		patJSON(3, 6, "bot", `["read_api"]`, false)+","+
		patJSON(1, rootID, "root", `["api"]`, true)+"]")
}

func TestGetToken(t *testing.T) {
	e := newEnv(t)
	rootTok, _ := e.token(rootID, "root", patkit.ScopeAPI)
	aliceTok, aliceID2 := e.token(aliceID, "alice", patkit.ScopeReadAPI)
	_, bobTokID := e.token(bobID, "bob", patkit.ScopeAPI)
	tests := []struct {
		name string
		r    req
		code int
		body string
	}{
		{"owner", req{method: "GET", path: fmt.Sprint("/api/v4/personal_access_tokens/", aliceID2), token: aliceTok}, 200, patJSON(2, aliceID, "alice", `["read_api"]`, true)},
		{"admin reads any", req{method: "GET", path: fmt.Sprint("/api/v4/personal_access_tokens/", bobTokID), token: rootTok}, 200, patJSON(3, bobID, "bob", `["api"]`, false)},
		{"other user hidden", req{method: "GET", path: fmt.Sprint("/api/v4/personal_access_tokens/", bobTokID), token: aliceTok}, 401, body401},
		{"missing, non-admin", req{method: "GET", path: "/api/v4/personal_access_tokens/99", token: aliceTok}, 401, body401},
		{"missing, admin", req{method: "GET", path: "/api/v4/personal_access_tokens/99", token: rootTok}, 404, `{"message":"404 Not Found"}`},
		{"non-integer id", req{method: "GET", path: "/api/v4/personal_access_tokens/abc", token: aliceTok}, 400, `{"error":"id is invalid"}`},
		{"non-integer id, no credentials", req{method: "GET", path: "/api/v4/personal_access_tokens/abc"}, 401, body401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.do(tt.r).check(t, tt.code, tt.body)
		})
	}
}

func TestSelf(t *testing.T) {
	e := newEnv(t)
	k8s, _ := e.token(aliceID, "k8s", patkit.ScopeK8sProxy)
	r := e.do(req{method: "GET", path: "/api/v4/personal_access_tokens/self", token: k8s})
	// The base entity: no last_used_ips.
	r.check(t, 200, `{"id":1,"name":"k8s","revoked":false,"created_at":"2026-03-01T12:00:00.123Z","description":null,"scopes":["k8s_proxy"],"user_id":2,"last_used_at":"2026-03-01T12:00:00.123Z","active":true,"granular":false,"expires_at":"2027-03-01"}`)

	// Any scope may revoke itself.
	e.do(req{method: "DELETE", path: "/api/v4/personal_access_tokens/self", token: k8s}).check(t, 204, "")
	e.do(req{method: "DELETE", path: "/api/v4/personal_access_tokens/self", token: k8s}).check(t, 401, bodyRevoked)
	e.do(req{method: "GET", path: "/api/v4/personal_access_tokens/self", token: k8s}).check(t, 401, bodyRevoked)

	// A non-admin's impersonation token cannot revoke itself; an admin's can.
	imp, _ := e.impersonationToken(aliceID, "imp", patkit.ScopeAPI)
	e.do(req{method: "DELETE", path: "/api/v4/personal_access_tokens/self", token: imp}).check(t, 400, `{"message":"400 Bad request - Not permitted to revoke"}`)
	adminImp, _ := e.impersonationToken(daveID, "imp", patkit.ScopeReadUser)
	e.do(req{method: "DELETE", path: "/api/v4/personal_access_tokens/self", token: adminImp}).check(t, 204, "")
}

func TestRevokeToken(t *testing.T) {
	e := newEnv(t)
	rootTok, _ := e.token(rootID, "root", patkit.ScopeAPI)
	aliceTok, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
	_, alice2 := e.token(aliceID, "alice2", patkit.ScopeAPI)
	_, bobTok := e.token(bobID, "bob", patkit.ScopeAPI)
	_, imp := e.impersonationToken(aliceID, "imp", patkit.ScopeAPI)
	tests := []struct {
		name string
		r    req
		code int
		body string
	}{
		{"owner", req{method: "DELETE", path: fmt.Sprint("/api/v4/personal_access_tokens/", alice2), token: aliceTok}, 204, ""},
		{"again: no-op", req{method: "DELETE", path: fmt.Sprint("/api/v4/personal_access_tokens/", alice2), token: aliceTok}, 204, ""},
		{"not owner", req{method: "DELETE", path: fmt.Sprint("/api/v4/personal_access_tokens/", bobTok), token: aliceTok}, 400, `{"message":"400 Bad request - Not permitted to revoke"}`},
		{"own impersonation token", req{method: "DELETE", path: fmt.Sprint("/api/v4/personal_access_tokens/", imp), token: aliceTok}, 400, `{"message":"400 Bad request - Not permitted to revoke"}`},
		{"missing: lowercase found", req{method: "DELETE", path: "/api/v4/personal_access_tokens/99", token: aliceTok}, 404, `{"message":"404 Not found"}`},
		{"non-integer", req{method: "DELETE", path: "/api/v4/personal_access_tokens/x", token: aliceTok}, 400, `{"error":"id is invalid"}`},
		{"admin", req{method: "DELETE", path: fmt.Sprint("/api/v4/personal_access_tokens/", bobTok), token: rootTok}, 204, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.do(tt.r).check(t, tt.code, tt.body)
		})
	}
}

func TestRotateToken(t *testing.T) {
	e := newEnv(t)
	rootTok, _ := e.token(rootID, "root", patkit.ScopeAPI)
	aliceTok, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
	_, alice2 := e.token(aliceID, "alice2", patkit.ScopeReadUser)
	_, bobTok := e.token(bobID, "bob", patkit.ScopeAPI)
	rotated := func(id int64, name, scopes, expires string) string {
		return fmt.Sprintf(`{"id":%d,"name":%q,"revoked":false,"created_at":"2026-03-01T12:00:00.123Z","description":null,"scopes":%s,"user_id":2,"last_used_at":null,"active":true,"granular":false,"expires_at":%q,"last_used_ips":[],"token":"<secret>"}`,
			id, name, scopes, expires)
	}
	tests := []struct {
		name string
		r    req
		code int
		body string
	}{
		{"owner, default expiry a week", req{method: "POST", path: fmt.Sprint("/api/v4/personal_access_tokens/", alice2, "/rotate"), token: aliceTok}, 200,
			rotated(5, "alice2", `["read_user"]`, "2026-03-08")},
		{"already revoked", req{method: "POST", path: fmt.Sprint("/api/v4/personal_access_tokens/", alice2, "/rotate"), token: aliceTok}, 400,
			`{"message":"400 Bad request - Token already revoked"}`},
		{"expires_at given (JSON)", req{method: "POST", path: "/api/v4/personal_access_tokens/5/rotate", token: aliceTok, json: map[string]any{"expires_at": "2026-06-01"}}, 200,
			rotated(6, "alice2", `["read_user"]`, "2026-06-01")},
		{"expires_at too late", req{method: "POST", path: "/api/v4/personal_access_tokens/6/rotate?expires_at=2028-01-01", token: aliceTok}, 400,
			`{"message":"400 Bad request - Expiration date must be before 2027-03-01"}`},
		{"expires_at invalid", req{method: "POST", path: "/api/v4/personal_access_tokens/6/rotate?expires_at=soon", token: aliceTok}, 400, `{"error":"expires_at is invalid"}`},
		{"expires_at the zero time's date", req{method: "POST", path: "/api/v4/personal_access_tokens/6/rotate?expires_at=0001-01-01", token: aliceTok}, 400, `{"error":"expires_at is invalid"}`},
		{"id invalid", req{method: "POST", path: "/api/v4/personal_access_tokens/six/rotate?expires_at=soon", token: aliceTok}, 400, `{"error":"id is invalid, expires_at is invalid"}`},
		{"not owner", req{method: "POST", path: fmt.Sprint("/api/v4/personal_access_tokens/", bobTok, "/rotate"), token: aliceTok}, 401, body401},
		{"missing, admin", req{method: "POST", path: "/api/v4/personal_access_tokens/99/rotate", token: rootTok}, 404, `{"message":"404 Not Found"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.do(tt.r).check(t, tt.code, tt.body)
		})
	}
}

func TestRotateSelfAndFamilyRevocation(t *testing.T) {
	e := newEnv(t)
	first, _ := e.token(aliceID, "mine", patkit.ScopeSelfRotate)
	r := e.do(req{method: "POST", path: "/api/v4/personal_access_tokens/self/rotate", token: first, form: url.Values{"expires_at": {"2026-04-01"}}})
	r.check(t, 200, `{"id":2,"name":"mine","revoked":false,"created_at":"2026-03-01T12:00:00.123Z","description":null,"scopes":["self_rotate"],"user_id":2,"last_used_at":null,"active":true,"granular":false,"expires_at":"2026-04-01","last_used_ips":[],"token":"<secret>"}`)
	second := r.secret(t)
	third := e.do(req{method: "POST", path: "/api/v4/personal_access_tokens/self/rotate", token: second}).secret(t)

	// The replaced token, presented on a rotate path, revokes its family.
	e.do(req{method: "GET", path: "/api/v4/personal_access_tokens/self", token: first}).check(t, 401, bodyRevoked)
	e.do(req{method: "GET", path: "/api/v4/personal_access_tokens/self", token: third}).check(t, 200,
		`{"id":3,"name":"mine","revoked":false,"created_at":"2026-03-01T12:00:00.123Z","description":null,"scopes":["self_rotate"],"user_id":2,"last_used_at":"2026-03-01T12:00:00.123Z","active":true,"granular":false,"expires_at":"2026-03-08"}`)
	e.do(req{method: "POST", path: "/api/v4/personal_access_tokens/self/rotate", token: first}).check(t, 401, bodyRevoked)
	e.do(req{method: "GET", path: "/api/v4/personal_access_tokens/self", token: third}).check(t, 401, bodyRevoked)
	if r := e.do(req{method: "GET", path: "/api/v4/personal_access_tokens/self", token: third}); r.code != http.StatusUnauthorized {
		t.Fatal(r.code)
	}
}

// TestPATUserHook checks GitLab's before hook on every route of the
// personal access token API.
func TestPATUserHook(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
	root, _ := e.token(rootID, "root", patkit.ScopeAPI)
	e.do(req{method: "GET", path: "/api/v4/personal_access_tokens/self?user_id=3", token: tok}).check(t, 401, body401)
	e.do(req{method: "POST", path: "/api/v4/personal_access_tokens/1/rotate", token: tok, json: map[string]any{"user_id": 3}}).check(t, 401, body401)
	if r := e.do(req{method: "GET", path: "/api/v4/personal_access_tokens/self?user_id=2", token: tok}); r.code != 200 {
		t.Errorf("own user_id: %d", r.code)
	}
	if r := e.do(req{method: "GET", path: "/api/v4/personal_access_tokens/self?user_id=3", token: root}); r.code != 200 {
		t.Errorf("admin: %d", r.code)
	}
}

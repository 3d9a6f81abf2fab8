package httpapi_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/patkit/patkit"
)

// TestMatrix walks GitLab's endpoint × caller matrix: for every row
// (endpoint) and every column (unauthenticated, insufficient scope, each
// allowed caller, each denied caller) it asserts the exact status and
// JSON body, and for an expired and a revoked credential the
// invalid_token answer with its WWW-Authenticate header. Every case runs
// in a fresh env, so token and bot user IDs are deterministic: tokens are
// numbered from 1 in the order a case creates them, bot users from 6.
func TestMatrix(t *testing.T) {
	for _, row := range matrixRows() {
		for _, c := range row.allCases() {
			t.Run(row.method+" "+row.route+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				if c.skip != "" {
					t.Skip(c.skip)
				}
				e := newEnv(t)
				if row.prepare != nil {
					row.prepare(e)
				}
				rq := c.setup(e, row.target(e))
				rq.method = row.method
				if rq.json == nil {
					rq.json = row.json
				}
				r := e.do(rq)
				r.check(t, c.code, c.body)
				if got := r.header.Get("WWW-Authenticate"); got != c.www {
					t.Errorf("WWW-Authenticate = %q, want %q", got, c.www)
				}
			})
		}
	}
}

// mrow is one row of the matrix: an endpoint and its callers.
type mrow struct {
	method string
	route  string // the route as GitLab's docs name it, for subtest names
	// prepare adjusts the directory before anything is created.
	prepare func(e *env)
	// target creates the row's fixture and returns the request path.
	target func(e *env) string
	json   any // request body sent by every case unless it sets its own
	// user owns the credentials of the generic columns; when bot is set
	// they are tokens of a bot of that resource (ID 1) instead.
	user int64
	bot  patkit.ResourceType
	// badScope fails the endpoint's scope check; "" when any scope
	// passes. scope is the space-joined list GitLab reports.
	badScope patkit.Scope
	scope    string
	cases    []mcase // the allowed and denied callers
}

// mcase is one cell: a caller of a row and the exact answer.
type mcase struct {
	name  string
	setup func(e *env, path string) req // returns the request; method is the row's
	code  int
	body  string
	www   string // exact WWW-Authenticate; "" means absent
	skip  string // the cell cannot be reached through httpapi
}

const (
	wwwExpired = `Bearer realm="The API", error="invalid_token", error_description="Token is expired. You can either do re-authorization or token refresh."`
	wwwRevoked = `Bearer realm="The API", error="invalid_token", error_description="Token was revoked. You have to re-authorize from the user."`

	body403       = `{"message":"403 Forbidden"}`
	body404       = `{"message":"404 Not Found"}`
	body405       = `{"message":"405 Method Not Allowed"}`
	bodyNoRevoke  = `{"message":"400 Bad request - Not permitted to revoke"}`
	noOAuthTokens = "not reachable: patkit has no OAuth tokens, and the handler only authenticates tokens (doc.go, Deviations)"
)

// allCases returns the generic columns of r followed by its own cases.
func (r mrow) allCases() []mcase {
	cs := []mcase{{
		name:  "unauthenticated",
		setup: func(_ *env, path string) req { return req{path: path} },
		code:  401, body: body401,
	}}
	if r.badScope != "" {
		c := mcase{
			name: "insufficient-scope-" + string(r.badScope),
			setup: func(e *env, path string) req {
				return req{path: path, token: r.credential(e, r.badScope, time.Time{}, false)}
			},
			code: 403, body: scopeBody(r.scope),
		}
		cs = append(cs, c)
	}
	cs = append(cs,
		mcase{
			name: "expired",
			setup: func(e *env, path string) req {
				return req{path: path, token: r.credential(e, patkit.ScopeAPI, now.AddDate(0, 0, -1), false)}
			},
			code: 401, body: bodyExpired, www: wwwExpired,
		},
		mcase{
			name: "revoked",
			setup: func(e *env, path string) req {
				return req{path: path, token: r.credential(e, patkit.ScopeAPI, time.Time{}, true)}
			},
			code: 401, body: bodyRevoked, www: wwwRevoked,
		},
	)
	return append(cs, r.cases...)
}

// credential creates a token of the row's caller with scope, expiring at
// expires (zero: the default), revoked if asked.
func (r mrow) credential(e *env, scope patkit.Scope, expires time.Time, revoke bool) string {
	e.t.Helper()
	o := patkit.TokenOptions{Name: "cred", Scopes: []patkit.Scope{scope}, ExpiresAt: expires}
	var (
		tok    *patkit.Token
		secret string
		err    error
	)
	if r.bot != "" {
		tok, secret, err = e.svc.CreateResourceToken(e.t.Context(), e.principal(aliceID), r.bot, "1", o)
	} else {
		tok, secret, err = e.svc.CreateToken(e.t.Context(), e.principal(rootID), r.user, o)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	if revoke {
		if err := e.svc.RevokeToken(e.t.Context(), e.principal(rootID), tok.ID); err != nil {
			e.t.Fatal(err)
		}
	}
	return secret
}

// mtok creates a personal access token and returns its secret.
func (e *env) mtok(user int64, name string, scopes ...patkit.Scope) string {
	e.t.Helper()
	s, _ := e.token(user, name, scopes...)
	return s
}

// mbot creates a project or group access token (resource 1) and returns
// its secret.
func (e *env) mbot(typ patkit.ResourceType, name string, level patkit.AccessLevel, scopes ...patkit.Scope) string {
	e.t.Helper()
	s, _ := e.resourceToken(typ, name, level, scopes...)
	return s
}

// as returns a case setup sending the row's path with a new token of
// user holding scopes.
func as(user int64, scopes ...patkit.Scope) func(*env, string) req {
	return func(e *env, path string) req {
		return req{path: path, token: e.mtok(user, "caller", scopes...)}
	}
}

// asAt is as with another path.
func asAt(user int64, path string, scopes ...patkit.Scope) func(*env, string) req {
	return func(e *env, _ string) req {
		return req{path: path, token: e.mtok(user, "caller", scopes...)}
	}
}

// anyScope returns the cases of an endpoint every scope passes (the
// personal access token self routes): a token holding only one of a few
// scopes no other endpoint here accepts gets code and body(scope).
func anyScope(code int, body func(patkit.Scope) string) []mcase {
	var cs []mcase
	for _, s := range []patkit.Scope{patkit.ScopeK8sProxy, patkit.ScopeReadRepository, patkit.ScopeWriteRegistry,
		patkit.ScopeCreateRunner, patkit.ScopeAIFeatures, patkit.ScopeSelfRotate, patkit.ScopeReadUser} {
		cs = append(cs, mcase{name: "any-scope-" + string(s), setup: as(aliceID, s), code: code, body: body(s)})
	}
	return cs
}

// fixed returns a target that creates nothing.
func fixed(path string) func(*env) string { return func(*env) string { return path } }

// mPAT is the PersonalAccessTokenWithLastUsedIps entity of a token created
// at now; used means it authenticated this request.
func mPAT(id, user int64, name, scopes, expires string, used bool) string {
	lastUsed, ips := "null", "[]"
	if used {
		lastUsed, ips = `"2026-03-01T12:00:00.123Z"`, `["192.0.2.1"]`
	}
	return fmt.Sprintf(`{"id":%d,"name":%q,"revoked":false,"created_at":"2026-03-01T12:00:00.123Z","description":null,`+
		`"scopes":%s,"user_id":%d,"last_used_at":%s,"active":true,"granular":false,"expires_at":%q,"last_used_ips":%s}`,
		id, name, scopes, user, lastUsed, expires, ips)
}

// mSelf is the base entity GET /personal_access_tokens/self answers for
// the token that authenticated the request.
func mSelf(id, user int64, name, scopes, expires string) string {
	return fmt.Sprintf(`{"id":%d,"name":%q,"revoked":false,"created_at":"2026-03-01T12:00:00.123Z","description":null,`+
		`"scopes":%s,"user_id":%d,"last_used_at":"2026-03-01T12:00:00.123Z","active":true,"granular":false,"expires_at":%q}`,
		id, name, scopes, user, expires)
}

// mNew is the PersonalAccessTokenWithToken entity of a token just created
// or rotated.
func mNew(id, user int64, name, scopes, expires string) string {
	return fmt.Sprintf(`{"id":%d,"name":%q,"revoked":false,"created_at":"2026-03-01T12:00:00.123Z","description":null,`+
		`"scopes":%s,"user_id":%d,"last_used_at":null,"active":true,"granular":false,"expires_at":%q,"last_used_ips":[],"token":"<secret>"}`,
		id, name, scopes, user, expires)
}

func matrixRows() []mrow {
	const (
		api        = patkit.ScopeAPI
		readAPI    = patkit.ScopeReadAPI
		readUser   = patkit.ScopeReadUser
		k8s        = patkit.ScopeK8sProxy
		selfRotate = patkit.ScopeSelfRotate
		pats       = "/api/v4/personal_access_tokens"
	)
	rows := []mrow{
		{
			method: "GET", route: "/personal_access_tokens",
			target: fixed(pats), user: aliceID,
			badScope: k8s, scope: "api read_api",
			cases: []mcase{
				{name: "own", setup: func(e *env, path string) req {
					tok := e.mtok(aliceID, "alice", api) // 1
					e.mtok(bobID, "bob", api)            // 2
					e.impersonationToken(aliceID, "imp", api)
					return req{path: path, token: tok}
				}, code: 200, body: "[" + mPAT(1, aliceID, "alice", `["api"]`, "2027-03-01", true) + "]"},
				{name: "admin", setup: func(e *env, path string) req {
					tok := e.mtok(rootID, "root", api)                                // 1
					e.mtok(aliceID, "alice", readAPI)                                 // 2
					e.impersonationToken(aliceID, "imp", api)                         // 3
					e.mbot(patkit.ResourceProject, "pbot", patkit.Developer, readAPI) // 4, bot user 6
					return req{path: path, token: tok}
				}, code: 200, body: "[" + mPAT(1, rootID, "root", `["api"]`, "2027-03-01", true) + "," +
					mPAT(2, aliceID, "alice", `["read_api"]`, "2027-03-01", false) + "," +
					mPAT(3, aliceID, "imp", `["api"]`, "2026-04-01", false) + "," +
					mPAT(4, 6, "pbot", `["read_api"]`, "2027-03-01", false) + "]"},
				{name: "non-admin-foreign-user_id", setup: asAt(aliceID, pats+"?user_id=3", api), code: 401, body: body401},
				{name: "admin-unknown-user_id", setup: asAt(rootID, pats+"?user_id=99", api), code: 404, body: body404},
			},
		},
		{
			method: "GET", route: "/personal_access_tokens/:id",
			target: func(e *env) string { e.mtok(aliceID, "target", api); return pats + "/1" },
			user:   aliceID, badScope: k8s, scope: "api read_api",
			cases: []mcase{
				{name: "owner", setup: as(aliceID, readAPI), code: 200, body: mPAT(1, aliceID, "target", `["api"]`, "2027-03-01", false)},
				{name: "admin", setup: as(rootID, readAPI), code: 200, body: mPAT(1, aliceID, "target", `["api"]`, "2027-03-01", false)},
				{name: "non-owner", setup: as(bobID, api), code: 401, body: body401},
				{name: "admin-missing", setup: asAt(rootID, pats+"/99", api), code: 404, body: body404},
				{name: "non-admin-missing", setup: asAt(aliceID, pats+"/99", api), code: 401, body: body401},
			},
		},
		{
			method: "GET", route: "/personal_access_tokens/self",
			target: fixed(pats + "/self"), user: aliceID,
			cases: append([]mcase{
				{name: "pat-holder", setup: as(aliceID, api), code: 200, body: mSelf(1, aliceID, "caller", `["api"]`, "2027-03-01")},
				{name: "impersonation-token", setup: func(e *env, path string) req {
					tok, _ := e.impersonationToken(aliceID, "imp", readUser)
					return req{path: path, token: tok}
				}, code: 200, body: mSelf(1, aliceID, "imp", `["read_user"]`, "2026-04-01")},
				{name: "project-bot", setup: func(e *env, path string) req {
					return req{path: path, token: e.mbot(patkit.ResourceProject, "pbot", patkit.Developer, k8s)}
				}, code: 200, body: mSelf(1, 6, "pbot", `["k8s_proxy"]`, "2027-03-01")},
				{name: "oauth", skip: noOAuthTokens + `; GitLab: 400 {"message":"400 Bad request - This endpoint requires token type to be a personal access token"}`},
			}, anyScope(200, func(s patkit.Scope) string {
				return mSelf(1, aliceID, "caller", `["`+string(s)+`"]`, "2027-03-01")
			})...),
		},
		{
			method: "DELETE", route: "/personal_access_tokens/:id",
			target: func(e *env) string { e.mtok(aliceID, "target", api); return pats + "/1" },
			user:   aliceID, badScope: readAPI, scope: "api read_api",
			cases: []mcase{
				{name: "owner", setup: as(aliceID, api), code: 204},
				{name: "admin", setup: as(rootID, api), code: 204},
				{name: "non-owner", setup: as(bobID, api), code: 400, body: bodyNoRevoke},
				{name: "owner-impersonation-token", setup: func(e *env, _ string) req {
					e.impersonationToken(aliceID, "imp", api) // 2
					return req{path: pats + "/2", token: e.mtok(aliceID, "caller", api)}
				}, code: 400, body: bodyNoRevoke},
				{name: "unknown-id", setup: asAt(bobID, pats+"/99", api), code: 404, body: `{"message":"404 Not found"}`},
				{name: "admin-unknown-id", setup: asAt(rootID, pats+"/99", api), code: 404, body: `{"message":"404 Not found"}`},
			},
		},
		{
			method: "DELETE", route: "/personal_access_tokens/self",
			target: fixed(pats + "/self"), user: aliceID,
			cases: append([]mcase{
				{name: "pat-holder", setup: as(aliceID, api), code: 204},
				{name: "admin-impersonation-token", setup: func(e *env, path string) req {
					tok, _ := e.impersonationToken(daveID, "imp", readUser)
					return req{path: path, token: tok}
				}, code: 204},
				{name: "non-admin-impersonation-token", setup: func(e *env, path string) req {
					tok, _ := e.impersonationToken(aliceID, "imp", api)
					return req{path: path, token: tok}
				}, code: 400, body: bodyNoRevoke},
			}, anyScope(204, func(patkit.Scope) string { return "" })...),
		},
		{
			method: "POST", route: "/personal_access_tokens/:id/rotate",
			target: func(e *env) string { e.mtok(aliceID, "target", api); return pats + "/1/rotate" },
			user:   aliceID, badScope: readAPI, scope: "api read_api",
			cases: []mcase{
				{name: "owner", setup: as(aliceID, api), code: 200, body: mNew(3, aliceID, "target", `["api"]`, "2026-03-08")},
				{name: "admin", setup: as(rootID, api), code: 200, body: mNew(3, aliceID, "target", `["api"]`, "2026-03-08")},
				{name: "non-owner", setup: as(bobID, api), code: 401, body: body401},
				{name: "admin-missing", setup: asAt(rootID, pats+"/99/rotate", api), code: 404, body: body404},
				{name: "non-admin-missing", setup: asAt(aliceID, pats+"/99/rotate", api), code: 401, body: body401},
			},
		},
		{
			method: "POST", route: "/personal_access_tokens/self/rotate",
			target: fixed(pats + "/self/rotate"), user: aliceID,
			badScope: readAPI, scope: "api self_rotate api read_api",
			cases: []mcase{
				{name: "pat-holder-api", setup: as(aliceID, api), code: 200, body: mNew(2, aliceID, "caller", `["api"]`, "2026-03-08")},
				{name: "pat-holder-self_rotate", setup: as(aliceID, selfRotate), code: 200, body: mNew(2, aliceID, "caller", `["self_rotate"]`, "2026-03-08")},
				{name: "impersonation-token", setup: func(e *env, path string) req {
					tok, _ := e.impersonationToken(aliceID, "imp", api)
					return req{path: path, token: tok}
				}, code: 200, body: mNew(2, aliceID, "imp", `["api"]`, "2026-03-08")},
				{name: "oauth", skip: noOAuthTokens + "; GitLab: 405 " + body405},
			},
		},
		{
			method: "POST", route: "/users/:user_id/personal_access_tokens",
			target: fixed("/api/v4/users/2/personal_access_tokens"), json: map[string]any{"name": "ci", "scopes": []string{"api"}},
			user: rootID, badScope: readUser, scope: "read_user api read_api",
			cases: []mcase{
				{name: "admin", setup: as(rootID, api), code: 201, body: mNew(2, aliceID, "ci", `["api"]`, "2027-03-01")},
				{name: "non-admin", setup: as(aliceID, api), code: 403, body: body403},
				{name: "admin-unknown-user", setup: asAt(rootID, "/api/v4/users/99/personal_access_tokens", api), code: 404, body: `{"message":"404 User Not Found"}`},
			},
		},
		{
			method: "POST", route: "/user/personal_access_tokens",
			target: fixed("/api/v4/user/personal_access_tokens"), json: map[string]any{"name": "agent", "scopes": []string{"k8s_proxy"}},
			user: aliceID, badScope: readAPI, scope: "read_user api read_api",
			cases: []mcase{
				{name: "user", setup: as(aliceID, api), code: 201, body: mNew(2, aliceID, "agent", `["k8s_proxy"]`, "2027-03-01")},
				{name: "other-user", setup: as(bobID, api), code: 201, body: mNew(2, bobID, "agent", `["k8s_proxy"]`, "2027-03-01")},
				{name: "admin", setup: as(rootID, api), code: 201, body: mNew(2, rootID, "agent", `["k8s_proxy"]`, "2027-03-01")},
			},
		},
		{
			method: "GET", route: "/users/:user_id/impersonation_tokens",
			target: func(e *env) string {
				e.impersonationToken(aliceID, "imp", api)
				return "/api/v4/users/2/impersonation_tokens"
			},
			user: rootID, badScope: k8s, scope: "read_user api read_api",
			cases: []mcase{
				{name: "admin", setup: as(rootID, api), code: 200, body: "[" + impJSON(1, aliceID, "imp", "2026-04-01", false) + "]"},
				{name: "admin-read_user", setup: as(rootID, readUser), code: 200, body: "[" + impJSON(1, aliceID, "imp", "2026-04-01", false) + "]"},
				{name: "non-admin", setup: as(aliceID, api), code: 403, body: body403},
				{name: "admin-unknown-user", setup: asAt(rootID, "/api/v4/users/99/impersonation_tokens", api), code: 404, body: `{"message":"404 User Not Found"}`},
			},
		},
		{
			method: "POST", route: "/users/:user_id/impersonation_tokens",
			target: fixed("/api/v4/users/3/impersonation_tokens"),
			json:   map[string]any{"name": "new", "scopes": []string{"api"}, "expires_at": "2026-05-01"},
			user:   rootID, badScope: readUser, scope: "read_user api read_api",
			cases: []mcase{
				{name: "admin", setup: as(rootID, api), code: 201, body: impJSON(2, bobID, "new", "2026-05-01", true)},
				{name: "non-admin", setup: as(aliceID, api), code: 403, body: body403},
			},
		},
		{
			method: "GET", route: "/users/:user_id/impersonation_tokens/:impersonation_token_id",
			target: func(e *env) string {
				e.impersonationToken(aliceID, "imp", api)
				return "/api/v4/users/2/impersonation_tokens/1"
			},
			user: rootID, badScope: k8s, scope: "read_user api read_api",
			cases: []mcase{
				{name: "admin", setup: as(rootID, api), code: 200, body: impJSON(1, aliceID, "imp", "2026-04-01", false)},
				{name: "admin-read_user", setup: as(rootID, readUser), code: 200, body: impJSON(1, aliceID, "imp", "2026-04-01", false)},
				{name: "non-admin", setup: as(aliceID, api), code: 403, body: body403},
				{name: "admin-other-users-token", setup: asAt(rootID, "/api/v4/users/3/impersonation_tokens/1", api), code: 404,
					body: `{"message":"404 Impersonation Token Not Found"}`},
			},
		},
		{
			method: "DELETE", route: "/users/:user_id/impersonation_tokens/:impersonation_token_id",
			target: func(e *env) string {
				e.impersonationToken(aliceID, "imp", api)
				return "/api/v4/users/2/impersonation_tokens/1"
			},
			user: rootID, badScope: readUser, scope: "read_user api read_api",
			cases: []mcase{
				{name: "admin", setup: as(rootID, api), code: 204},
				{name: "non-admin", setup: as(aliceID, api), code: 403, body: body403},
			},
		},
	}
	for _, typ := range []patkit.ResourceType{patkit.ResourceProject, patkit.ResourceGroup} {
		rows = append(rows, resourceRows(typ)...)
	}
	return rows
}

// resourceRows are the six rows of /projects/:id/access_tokens or
// /groups/:id/access_tokens. Alice is project Maintainer and group Owner
// (allowed); Bob is project Developer and, here, group Maintainer
// (denied).
func resourceRows(typ patkit.ResourceType) []mrow {
	const (
		api        = patkit.ScopeAPI
		readAPI    = patkit.ScopeReadAPI
		k8s        = patkit.ScopeK8sProxy
		selfRotate = patkit.ScopeSelfRotate
	)
	t := string(typ)
	other := patkit.ResourceGroup
	allowed, denied := "maintainer", "developer"
	if typ == patkit.ResourceGroup {
		other = patkit.ResourceProject
		allowed, denied = "owner", "maintainer"
	}
	base := "/api/v4/" + t + "s/1/access_tokens"
	route := "/" + t + "s/:id/access_tokens"
	prepare := func(e *env) {
		if typ == patkit.ResourceGroup {
			e.dir.SetAccess(patkit.ResourceGroup, 1, bobID, patkit.Maintainer)
		}
	}
	// deploy is the row's target token: ID 1, bot user 6, Developer.
	deploy := func(suffix string) func(*env) string {
		return func(e *env) string {
			e.mbot(typ, "deploy", patkit.Developer, api)
			return base + "/1" + suffix
		}
	}
	deployJSON := resJSON(1, 6, t, "deploy", `["api"]`, 30, "2027-03-01", false)
	tokenNotFound := `{"message":"404 ` + t + ` Access Token Not Found"}`
	noCreate := `{"message":"400 Bad request - User does not have permission to create ` + t + ` access token"}`
	return []mrow{
		{
			method: "GET", route: route, prepare: prepare,
			target: func(e *env) string { deploy("")(e); return base },
			user:   aliceID, badScope: k8s, scope: "api read_api",
			cases: []mcase{
				{name: allowed, setup: as(aliceID, readAPI), code: 200, body: "[" + deployJSON + "]"},
				{name: "admin", setup: as(rootID, readAPI), code: 200, body: "[" + deployJSON + "]"},
				{name: denied, setup: as(bobID, api), code: 401, body: body401},
			},
		},
		{
			method: "GET", route: route + "/:token_id", prepare: prepare,
			target: deploy(""), user: aliceID, badScope: k8s, scope: "api read_api",
			cases: []mcase{
				{name: allowed, setup: as(aliceID, readAPI), code: 200, body: deployJSON},
				{name: "admin", setup: as(rootID, readAPI), code: 200, body: deployJSON},
				{name: denied, setup: as(bobID, api), code: 401, body: body401},
				{name: "unknown-token", setup: asAt(aliceID, base+"/99", api), code: 404, body: tokenNotFound},
			},
		},
		{
			method: "POST", route: route, prepare: prepare,
			target: fixed(base), json: map[string]any{"name": "ci", "scopes": []string{"api"}, "access_level": 30},
			user: aliceID, badScope: readAPI, scope: "api read_api",
			cases: []mcase{
				{name: allowed, setup: as(aliceID, api), code: 201, body: resJSON(2, 6, t, "ci", `["api"]`, 30, "2027-03-01", true)},
				{name: "admin", setup: as(rootID, api), code: 201, body: resJSON(2, 6, t, "ci", `["api"]`, 30, "2027-03-01", true)},
				{name: denied, setup: as(bobID, api), code: 400, body: noCreate},
				{name: "bot", setup: func(e *env, path string) req {
					return req{path: path, token: e.mbot(typ, "bot", patkit.Maintainer, api)}
				}, code: 400, body: noCreate},
			},
		},
		{
			method: "POST", route: route + "/:token_id/rotate", prepare: prepare,
			target: deploy("/rotate"), user: aliceID, badScope: readAPI, scope: "api read_api",
			cases: []mcase{
				{name: allowed, setup: as(aliceID, api), code: 200, body: resJSON(3, 6, t, "deploy", `["api"]`, 30, "2026-03-08", true)},
				{name: "admin", setup: as(rootID, api), code: 200, body: resJSON(3, 6, t, "deploy", `["api"]`, 30, "2026-03-08", true)},
				{name: denied, setup: as(bobID, api), code: 401, body: body401},
				{name: "bot", setup: func(e *env, path string) req {
					return req{path: path, token: e.mbot(typ, "bot", patkit.Maintainer, api)}
				}, code: 401, body: body401},
				{name: "admin-missing", setup: asAt(rootID, base+"/99/rotate", api), code: 404, body: body404},
			},
		},
		{
			method: "POST", route: route + "/self/rotate", prepare: prepare,
			target: fixed(base + "/self/rotate"), bot: typ,
			badScope: readAPI, scope: "api self_rotate api read_api",
			cases: []mcase{
				{name: "bot-api", setup: func(e *env, path string) req {
					return req{path: path, token: e.mbot(typ, "bot", patkit.Maintainer, api)}
				}, code: 200, body: resJSON(2, 6, t, "bot", `["api"]`, 40, "2026-03-08", true)},
				{name: "bot-self_rotate", setup: func(e *env, path string) req {
					return req{path: path, token: e.mbot(typ, "bot", patkit.Maintainer, selfRotate)}
				}, code: 200, body: resJSON(2, 6, t, "bot", `["self_rotate"]`, 40, "2026-03-08", true)},
				{name: "user", setup: as(aliceID, api), code: 405, body: body405},
				{name: "admin", setup: as(rootID, api), code: 405, body: body405},
				{name: "bot-of-another-" + string(other), setup: func(e *env, path string) req {
					return req{path: path, token: e.mbot(other, "bot", patkit.Maintainer, api)}
				}, code: 401, body: body401},
			},
		},
		{
			method: "DELETE", route: route + "/:token_id", prepare: prepare,
			target: deploy(""), user: aliceID, badScope: readAPI, scope: "api read_api",
			cases: []mcase{
				{name: allowed, setup: as(aliceID, api), code: 204},
				{name: "admin", setup: as(rootID, api), code: 204},
				{name: denied, setup: as(bobID, api), code: 400, body: `{"message":"400 Bad request - Bob cannot delete deploy"}`},
				{name: "unknown-token", setup: asAt(bobID, base+"/99", api), code: 404, body: tokenNotFound},
			},
		},
	}
}

// TestMatrixCoversEndpoints checks that TestMatrix has a row for every endpoint
// of the token API and the generic columns for each.
func TestMatrixCoversEndpoints(t *testing.T) {
	want := []string{
		"GET /personal_access_tokens", "GET /personal_access_tokens/:id", "GET /personal_access_tokens/self",
		"DELETE /personal_access_tokens/:id", "DELETE /personal_access_tokens/self",
		"POST /personal_access_tokens/:id/rotate", "POST /personal_access_tokens/self/rotate",
		"POST /users/:user_id/personal_access_tokens", "POST /user/personal_access_tokens",
		"GET /users/:user_id/impersonation_tokens", "POST /users/:user_id/impersonation_tokens",
		"GET /users/:user_id/impersonation_tokens/:impersonation_token_id",
		"DELETE /users/:user_id/impersonation_tokens/:impersonation_token_id",
	}
	for _, r := range []string{"projects", "groups"} {
		for _, s := range []string{"GET %s", "GET %s/:token_id", "POST %s", "POST %s/:token_id/rotate", "POST %s/self/rotate", "DELETE %s/:token_id"} {
			want = append(want, fmt.Sprintf(s, "/"+r+"/:id/access_tokens"))
		}
	}
	got := map[string]bool{}
	for _, r := range matrixRows() {
		key := r.method + " " + r.route
		if got[key] {
			t.Errorf("duplicate row %s", key)
		}
		got[key] = true
		names := map[string]bool{}
		for _, c := range r.allCases() {
			names[c.name] = true
		}
		for _, col := range []string{"unauthenticated", "expired", "revoked"} {
			if !names[col] {
				t.Errorf("%s: no %s column", key, col)
			}
		}
		self := strings.HasSuffix(r.route, "/personal_access_tokens/self") // any scope passes
		if r.badScope == "" && !self {
			t.Errorf("%s: no insufficient-scope column", key)
		}
		if len(r.cases) < 2 {
			t.Errorf("%s: %d caller cases, want allowed and denied callers", key, len(r.cases))
		}
	}
	for _, k := range want {
		if !got[k] {
			t.Errorf("no row for %s", k)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d rows, want %d", len(got), len(want))
	}
}

package httpapi_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/patkit/patkit"
)

func resJSON(id, userID int64, typ, name, scopes string, level int, expires string, secret bool) string {
	s := fmt.Sprintf(`{"id":%d,"name":%q,"revoked":false,"created_at":"2026-03-01T12:00:00.123Z","description":null,"scopes":%s,"user_id":%d,"last_used_at":null,"active":true,"granular":false,"expires_at":%q,"last_used_ips":[],"access_level":%d,"resource_type":%q,"resource_id":1`,
		id, name, scopes, userID, expires, level, typ)
	if secret {
		s += `,"token":"<secret>"`
	}
	return s + "}"
}

func TestResourceTokens(t *testing.T) {
	for _, typ := range []string{"project", "group"} {
		t.Run(typ, func(t *testing.T) {
			e := newEnv(t)
			rootTok, _ := e.token(rootID, "root", patkit.ScopeAPI)
			aliceTok, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
			bobTok, _ := e.token(bobID, "bob", patkit.ScopeAPI)
			base := "/api/v4/" + typ + "s/"
			path := map[string]string{"project": "acme%2Fwidgets", "group": "acme"}[typ]
			notFound := map[string]string{"project": "Project", "group": "Group"}[typ]

			// Bot user IDs start after the five demo users.
			tests := []struct {
				name string
				r    req
				code int
				body string
			}{
				{"create by path, JSON", req{method: "POST", path: base + path + "/access_tokens", token: aliceTok,
					json: map[string]any{"name": "deploy", "scopes": []string{"read_api"}, "access_level": 20, "expires_at": "2026-09-01"}},
					201, resJSON(4, 6, typ, "deploy", `["read_api"]`, 20, "2026-09-01", true)},
				{"create by id, form, default level and expiry", req{method: "POST", path: base + "1/access_tokens", token: aliceTok,
					form: url.Values{"name": {"ci"}, "scopes[]": {"api", "read_repository"}}},
					201, resJSON(5, 7, typ, "ci", `["api","read_repository"]`, 40, "2027-03-01", true)},
				{"list", req{method: "GET", path: base + "1/access_tokens", token: aliceTok},
					200, "[" + resJSON(4, 6, typ, "deploy", `["read_api"]`, 20, "2026-09-01", false) + "," + resJSON(5, 7, typ, "ci", `["api","read_repository"]`, 40, "2027-03-01", false) + "]"},
				{"list with filters", req{method: "GET", path: base + path + "/access_tokens?search=dep&state=active", token: rootTok},
					200, "[" + resJSON(4, 6, typ, "deploy", `["read_api"]`, 20, "2026-09-01", false) + "]"},
				{"list bad filter", req{method: "GET", path: base + "1/access_tokens?revoked=x", token: aliceTok}, 400, `{"error":"revoked is invalid"}`},
				{"list: low access", req{method: "GET", path: base + "1/access_tokens", token: bobTok}, 401, body401},
				{"list: unknown resource", req{method: "GET", path: base + "9/access_tokens", token: aliceTok}, 404, `{"message":"404 ` + notFound + ` Not Found"}`},
				{"list: unknown path", req{method: "GET", path: base + "acme%2Fnope/access_tokens", token: aliceTok}, 404, `{"message":"404 ` + notFound + ` Not Found"}`},
				{"get", req{method: "GET", path: base + path + "/access_tokens/4", token: aliceTok}, 200, resJSON(4, 6, typ, "deploy", `["read_api"]`, 20, "2026-09-01", false)},
				{"get missing", req{method: "GET", path: base + "1/access_tokens/1", token: aliceTok}, 404, `{"message":"404 ` + typ + ` Access Token Not Found"}`},
				{"get non-numeric", req{method: "GET", path: base + "1/access_tokens/self", token: aliceTok}, 404, `{"message":"404 ` + typ + ` Access Token Not Found"}`},
				{"get: low access", req{method: "GET", path: base + "1/access_tokens/4", token: bobTok}, 401, body401},
				{"create: missing", req{method: "POST", path: base + "1/access_tokens", token: aliceTok}, 400, `{"error":"name is missing, scopes is missing"}`},
				{"create: read_user not a resource scope", req{method: "POST", path: base + "1/access_tokens", token: aliceTok,
					json: map[string]any{"name": "x", "scopes": []string{"read_user"}}}, 400, `{"error":"scopes does not have a valid value"}`},
				{"create: no comma splitting", req{method: "POST", path: base + "1/access_tokens", token: aliceTok,
					json: map[string]any{"name": "x", "scopes": "api,read_api"}}, 400, `{"error":"scopes is invalid"}`},
				{"create: bad level", req{method: "POST", path: base + "1/access_tokens", token: aliceTok,
					json: map[string]any{"name": "x", "scopes": []string{"api"}, "access_level": 0}}, 400, `{"error":"access_level does not have a valid value"}`},
				{"create: level not a number", req{method: "POST", path: base + "1/access_tokens", token: aliceTok,
					json: map[string]any{"name": "x", "scopes": []string{"api"}, "access_level": "high"}}, 400, `{"error":"access_level is invalid"}`},
				{"create: too late", req{method: "POST", path: base + "1/access_tokens", token: aliceTok,
					json: map[string]any{"name": "x", "scopes": []string{"api"}, "expires_at": "2027-03-02"}}, 400, `{"message":"400 Bad request - Expiration date must be before 2027-03-01"}`},
				{"create: low access", req{method: "POST", path: base + "1/access_tokens", token: bobTok,
					json: map[string]any{"name": "x", "scopes": []string{"api"}}}, 400, `{"message":"400 Bad request - User does not have permission to create ` + typ + ` access token"}`},
				{"rotate", req{method: "POST", path: base + "1/access_tokens/4/rotate", token: aliceTok},
					200, resJSON(6, 6, typ, "deploy", `["read_api"]`, 20, "2026-03-08", true)},
				{"rotate revoked", req{method: "POST", path: base + "1/access_tokens/4/rotate", token: aliceTok},
					400, `{"message":"400 Bad request - Token already revoked"}`},
				{"rotate: low access", req{method: "POST", path: base + "1/access_tokens/6/rotate", token: bobTok}, 401, body401},
				{"rotate: missing, admin", req{method: "POST", path: base + "1/access_tokens/99/rotate", token: rootTok}, 404, `{"message":"404 Not Found"}`},
				{"rotate: bad expiry", req{method: "POST", path: base + "1/access_tokens/6/rotate?expires_at=x", token: aliceTok}, 400, `{"error":"expires_at is invalid"}`},
				{"revoke: low access", req{method: "DELETE", path: base + "1/access_tokens/6", token: bobTok}, 400, `{"message":"400 Bad request - Bob cannot delete deploy"}`},
				{"revoke: missing before permission", req{method: "DELETE", path: base + "1/access_tokens/99", token: bobTok}, 404, `{"message":"404 ` + typ + ` Access Token Not Found"}`},
				{"revoke", req{method: "DELETE", path: base + path + "/access_tokens/6", token: aliceTok}, 204, ""},
				{"revoke again", req{method: "DELETE", path: base + "1/access_tokens/6", token: aliceTok}, 204, ""},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					e.do(tt.r).check(t, tt.code, tt.body)
				})
			}
		})
	}
}

func TestResourceSelfRotate(t *testing.T) {
	e := newEnv(t)
	secret, tok := e.resourceToken(patkit.ResourceProject, "bot", 30, patkit.ScopeSelfRotate)
	groupSecret, _ := e.resourceToken(patkit.ResourceGroup, "gbot", 30, patkit.ScopeAPI)
	aliceTok, _ := e.token(aliceID, "alice", patkit.ScopeAPI)

	e.do(req{method: "POST", path: "/api/v4/projects/1/access_tokens/self/rotate", token: aliceTok}).check(t, 405, `{"message":"405 Method Not Allowed"}`)
	e.do(req{method: "POST", path: "/api/v4/projects/1/access_tokens/self/rotate", token: groupSecret}).check(t, 401, body401)
	e.do(req{method: "POST", path: "/api/v4/projects/7/access_tokens/self/rotate", token: secret}).check(t, 404, `{"message":"404 Project Not Found"}`)
	r := e.do(req{method: "POST", path: "/api/v4/projects/acme%2Fwidgets/access_tokens/self/rotate", token: secret, json: map[string]any{"expires_at": "2026-05-05"}})
	r.check(t, 200, resJSON(4, tok.UserID, "project", "bot", `["self_rotate"]`, 30, "2026-05-05", true))

	// A project token may also rotate itself through the PAT route, which
	// answers the PAT entity.
	next := r.secret(t)
	e.do(req{method: "POST", path: "/api/v4/personal_access_tokens/self/rotate", token: next}).check(t, 200,
		fmt.Sprintf(`{"id":5,"name":"bot","revoked":false,"created_at":"2026-03-01T12:00:00.123Z","description":null,"scopes":["self_rotate"],"user_id":%d,"last_used_at":null,"active":true,"granular":false,"expires_at":"2026-03-08","last_used_ips":[],"token":"<secret>"}`, tok.UserID))
}

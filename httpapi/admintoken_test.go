package httpapi_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/patkit/patkit"
)

func TestAdminToken(t *testing.T) {
	e := newEnv(t)
	rootTok, _ := e.token(rootID, "root", patkit.ScopeAPI)
	rootRead, _ := e.token(rootID, "root-read", patkit.ScopeReadAPI)
	aliceTok, aliceTokID := e.token(aliceID, "alice", patkit.ScopeAPI)
	other, _ := newEnv(t).token(aliceID, "elsewhere", patkit.ScopeAPI) // well-formed, held by no token here

	// The PersonalAccessToken entity, whatever the kind: no last_used_ips,
	// never the secret. Identifying a token is not a use of it.
	// The expiry notice columns GitLab's documentation shows (none sent).
	notices := `,"expire_notification_delivered":false,"seven_days_notification_sent_at":null,"thirty_days_notification_sent_at":null,"sixty_days_notification_sent_at":null,"after_expiry_notification_delivered":false`
	alice := fmt.Sprintf(`{"id":%d,"name":"alice","revoked":false,"created_at":"2026-03-01T12:00:00.123Z","description":null,`+
		`"scopes":["api"],"user_id":2,"last_used_at":null,"active":true,"granular":false,"expires_at":"2027-03-01"`+notices+`}`, aliceTokID)
	insufficient := `{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"api read_api"}`
	for _, c := range []struct {
		name string
		r    req
		code int
		body string
	}{
		{"identify by JSON body", req{method: "POST", path: "/api/v4/admin/token", token: rootTok, json: map[string]string{"token": aliceTok}}, 200, alice},
		{"identify by query", req{method: "POST", path: "/api/v4/admin/token?token=" + url.QueryEscape(aliceTok), token: rootTok}, 200, alice},
		{"identify by form", req{method: "POST", path: "/api/v4/admin/token", token: rootTok, form: url.Values{"token": {aliceTok}}}, 200, alice},
		{"token missing", req{method: "POST", path: "/api/v4/admin/token", token: rootTok}, 400, `{"error":"token is missing"}`},
		{"not a patkit token", req{method: "POST", path: "/api/v4/admin/token", token: rootTok, json: map[string]string{"token": "glrt-abcdef"}}, 422, `{"message":"Token type not supported."}`},
		{"unknown", req{method: "POST", path: "/api/v4/admin/token", token: rootTok, json: map[string]string{"token": other}}, 404, `{"message":{"error":"Not found"}}`},
		{"not an administrator, before validation", req{method: "POST", path: "/api/v4/admin/token", token: aliceTok}, 403, `{"message":"403 Forbidden"}`},
		{"anonymous", req{method: "POST", path: "/api/v4/admin/token", json: map[string]string{"token": aliceTok}}, 401, body401},
		{"read_api cannot", req{method: "POST", path: "/api/v4/admin/token", token: rootRead, json: map[string]string{"token": aliceTok}}, 403, insufficient},
		{"revoke unknown", req{method: "DELETE", path: "/api/v4/admin/token", token: rootTok, json: map[string]string{"token": other}}, 404, `{"message":{"error":"Not found"}}`},
		{"revoke", req{method: "DELETE", path: "/api/v4/admin/token", token: rootTok, json: map[string]string{"token": aliceTok}}, 204, ""},
		// alice's own request above was a use of her token.
		{"revoked, found", req{method: "POST", path: "/api/v4/admin/token", token: rootTok, json: map[string]string{"token": aliceTok}}, 200,
			fmt.Sprintf(`{"id":%d,"name":"alice","revoked":true,"created_at":"2026-03-01T12:00:00.123Z","description":null,`+
				`"scopes":["api"],"user_id":2,"last_used_at":"2026-03-01T12:00:00.123Z","active":false,"granular":false,"expires_at":"2027-03-01"`+notices+`}`, aliceTokID)},
		{"the secret no longer works", req{method: "GET", path: "/api/v4/personal_access_tokens/self", token: aliceTok}, 401,
			`{"error":"invalid_token","error_description":"Token was revoked. You have to re-authorize from the user."}`},
	} {
		t.Run(c.name, func(t *testing.T) { e.do(c.r).check(t, c.code, c.body) })
	}
}

package httpapi_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/httpapi"
)

const (
	body401     = `{"message":"401 Unauthorized"}`
	bodyExpired = `{"error":"invalid_token","error_description":"Token is expired. You can either do re-authorization or token refresh."}`
	bodyRevoked = `{"error":"invalid_token","error_description":"Token was revoked. You have to re-authorize from the user."}`
	bodyImpOff  = `{"error":"invalid_token","error_description":"Token is an impersonation token but impersonation was disabled."}`
)

func scopeBody(scope string) string {
	return `{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"` + scope + `"}`
}

func TestCredentialLocations(t *testing.T) {
	e := newEnv(t)
	secret, _ := e.token(aliceID, "t", patkit.ScopeAPI)
	tests := []struct {
		name string
		r    req
	}{
		{"PRIVATE-TOKEN header", req{method: "GET", path: "/api/v4/personal_access_tokens/self", token: secret}},
		{"private_token query", req{method: "GET", path: "/api/v4/personal_access_tokens/self?private_token=" + secret}},
		{"access_token query", req{method: "GET", path: "/api/v4/personal_access_tokens/self?access_token=" + secret}},
		{"bearer_token query", req{method: "GET", path: "/api/v4/personal_access_tokens/self?bearer_token=" + secret}},
		{"Authorization Bearer", req{method: "GET", path: "/api/v4/personal_access_tokens/self",
			header: http.Header{"Authorization": {"Bearer " + secret}}}},
		{"lowercase bearer", req{method: "GET", path: "/api/v4/personal_access_tokens/self",
			header: http.Header{"Authorization": {"bearer " + secret}}}},
		{"private_token form", req{method: "DELETE", path: "/api/v4/personal_access_tokens/999",
			form: url.Values{"private_token": {secret}}}},
		{"empty private_token falls back to header", req{method: "GET", path: "/api/v4/personal_access_tokens/self?private_token=", token: secret}},
		{"private_token repeated, the last counts", req{method: "GET", path: "/api/v4/personal_access_tokens/self?private_token=glpat-AAAAAAAAAAAAAAAAAAAAAAAAAAA0000000&private_token=" + secret}},
		{"private_token form repeated, the last counts", req{method: "DELETE", path: "/api/v4/personal_access_tokens/999",
			form: url.Values{"private_token": {"glpat-AAAAAAAAAAAAAAAAAAAAAAAAAAA0000000", secret}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.r)
			if r.code == http.StatusUnauthorized {
				t.Fatalf("not authenticated: %d %s", r.code, r.body)
			}
		})
	}
}

func TestAuthFailures(t *testing.T) {
	e := newEnv(t, func(po *patkit.Options, _ *httpapi.Options) { po.ImpersonationDisabled = true })
	revoked, revokedID := e.token(aliceID, "revoked", patkit.ScopeAPI)
	if err := e.svc.RevokeToken(t.Context(), e.principal(rootID), revokedID); err != nil {
		t.Fatal(err)
	}
	imp, _ := e.impersonationToken(aliceID, "imp", patkit.ScopeAPI)
	blocked, _ := e.token(carolID, "blocked", patkit.ScopeAPI)
	readUser, _ := e.token(aliceID, "ru", patkit.ScopeReadUser)
	readAPI, _ := e.token(aliceID, "ra", patkit.ScopeReadAPI)
	k8s, _ := e.token(aliceID, "k8s", patkit.ScopeK8sProxy)

	tests := []struct {
		name    string
		r       req
		code    int
		body    string
		wwwAuth string
	}{
		{name: "no credentials", r: req{method: "GET", path: "/api/v4/personal_access_tokens"}, code: 401, body: body401},
		{name: "malformed", r: req{method: "GET", path: "/api/v4/personal_access_tokens", token: "nope"}, code: 401, body: body401},
		{name: "unknown", r: req{method: "GET", path: "/api/v4/personal_access_tokens", token: "glpat-AAAAAAAAAAAAAAAAAAAAAAAAAAA0000000"}, code: 401, body: body401},
		// A repeated header is one value, joined as Rack joins it
		// ("a, b"), which is no token: neither of two credentials is
		// chosen.
		{name: "private_token repeated, the last unknown", r: req{method: "GET", path: "/api/v4/personal_access_tokens?private_token=" + readAPI + "&private_token=glpat-AAAAAAAAAAAAAAAAAAAAAAAAAAA0000000"}, code: 401, body: body401},
		{name: "private_token repeated, the last empty", r: req{method: "GET", path: "/api/v4/personal_access_tokens?private_token=" + readAPI + "&private_token="}, code: 401, body: body401},
		{name: "PRIVATE-TOKEN twice", r: req{method: "GET", path: "/api/v4/personal_access_tokens",
			header: http.Header{"Private-Token": {readAPI, "glpat-AAAAAAAAAAAAAAAAAAAAAAAAAAA0000000"}}}, code: 401, body: body401},
		{name: "Authorization twice", r: req{method: "GET", path: "/api/v4/personal_access_tokens",
			header: http.Header{"Authorization": {"Bearer " + readAPI, "Bearer " + readAPI}}}, code: 401, body: body401},
		{name: "revoked", r: req{method: "GET", path: "/api/v4/personal_access_tokens", token: revoked}, code: 401, body: bodyRevoked,
			wwwAuth: `Bearer realm="The API", error="invalid_token", error_description="Token was revoked. You have to re-authorize from the user."`},
		{name: "impersonation disabled", r: req{method: "GET", path: "/api/v4/personal_access_tokens/self", token: imp}, code: 401, body: bodyImpOff,
			wwwAuth: `Bearer realm="The API", error="invalid_token", error_description="Token is an impersonation token but impersonation was disabled."`},
		{name: "blocked user", r: req{method: "GET", path: "/api/v4/personal_access_tokens", token: blocked}, code: 403,
			body: `{"message":"403 Forbidden - Your account has been blocked."}`},
		{name: "read_user on PAT list", r: req{method: "GET", path: "/api/v4/personal_access_tokens", token: readUser}, code: 403,
			body: scopeBody("api read_api")},
		{name: "read_api on DELETE", r: req{method: "DELETE", path: "/api/v4/personal_access_tokens/1", token: readAPI}, code: 403,
			body: scopeBody("api read_api")},
		{name: "read_api on self rotate", r: req{method: "POST", path: "/api/v4/personal_access_tokens/self/rotate", token: readAPI}, code: 403,
			body: scopeBody("api self_rotate api read_api")},
		{name: "k8s_proxy on project rotate self", r: req{method: "POST", path: "/api/v4/projects/1/access_tokens/self/rotate", token: k8s}, code: 403,
			body: scopeBody("api self_rotate api read_api")},
		{name: "read_user on user impersonation list (GET)", r: req{method: "GET", path: "/api/v4/users/2/impersonation_tokens", token: readUser}, code: 403,
			body: `{"message":"403 Forbidden"}`},
		{name: "read_user on user PAT create (POST)", r: req{method: "POST", path: "/api/v4/users/2/personal_access_tokens", token: readUser}, code: 403,
			body: scopeBody("read_user api read_api")},
		{name: "read_api on users GET", r: req{method: "GET", path: "/api/v4/users/2/impersonation_tokens", token: readAPI}, code: 403,
			body: `{"message":"403 Forbidden"}`},
		{name: "k8s_proxy on users GET", r: req{method: "GET", path: "/api/v4/users/2/impersonation_tokens", token: k8s}, code: 403,
			body: scopeBody("read_user api read_api")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.r)
			r.check(t, tt.code, tt.body)
			if got := r.header.Get("WWW-Authenticate"); got != tt.wwwAuth {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.wwwAuth)
			}
		})
	}
}

func TestExpiredToken(t *testing.T) {
	e := newEnv(t)
	_, secret, err := e.svc.CreateToken(t.Context(), e.principal(rootID), aliceID, patkit.TokenOptions{
		Name: "soon", Scopes: []patkit.Scope{patkit.ScopeAPI}, ExpiresAt: now.AddDate(0, 0, 1),
	})
	if err != nil {
		t.Fatal(err)
	}
	*e.clock = now.AddDate(0, 0, 1).Truncate(24 * time.Hour) // midnight of the expiry date
	r := e.do(req{method: "GET", path: "/api/v4/personal_access_tokens/self", token: secret})
	r.check(t, 401, bodyExpired)
	want := `Bearer realm="The API", error="invalid_token", error_description="Token is expired. You can either do re-authorization or token refresh."`
	if got := r.header.Get("WWW-Authenticate"); got != want {
		t.Errorf("WWW-Authenticate = %q, want %q", got, want)
	}
}

func TestSudo(t *testing.T) {
	e := newEnv(t)
	sudo, _ := e.token(rootID, "sudo", patkit.ScopeAPI, patkit.ScopeSudo)
	noSudo, _ := e.token(rootID, "nosudo", patkit.ScopeAPI)
	aliceTok, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
	onlySudo, _ := e.token(rootID, "onlysudo", patkit.ScopeSudo)

	tests := []struct {
		name string
		r    req
		code int
		body string
	}{
		{"not admin", req{method: "GET", path: "/api/v4/personal_access_tokens", token: aliceTok, header: http.Header{"Sudo": {"bob"}}},
			403, `{"message":"403 Forbidden - Must be admin to use sudo"}`},
		{"no sudo scope", req{method: "GET", path: "/api/v4/personal_access_tokens", token: noSudo, header: http.Header{"Sudo": {"bob"}}},
			403, scopeBody("sudo")},
		{"unknown user", req{method: "GET", path: "/api/v4/personal_access_tokens", token: sudo, header: http.Header{"Sudo": {"nobody"}}},
			404, `{"message":"404 User with ID or username 'nobody' Not Found"}`},
		{"as alice by header, only sudo scope checked", req{method: "GET", path: "/api/v4/personal_access_tokens", token: onlySudo, header: http.Header{"Sudo": {"ALICE"}}},
			200, ""},
		{"as alice by param", req{method: "GET", path: "/api/v4/personal_access_tokens?sudo=2", token: sudo}, 200, ""},
		{"as alice by the last of two params", req{method: "GET", path: "/api/v4/personal_access_tokens?sudo=nobody&sudo=alice", token: sudo}, 200, ""},
		// Two Sudo headers are one value, as Rack joins them: no user.
		{"two headers", req{method: "GET", path: "/api/v4/personal_access_tokens", token: sudo, header: http.Header{"Sudo": {"alice", "bob"}}},
			404, `{"message":"404 User with ID or username 'alice, bob' Not Found"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.r)
			if tt.body != "" {
				r.check(t, tt.code, tt.body)
				return
			}
			if r.code != tt.code {
				t.Fatalf("status %d: %s", r.code, r.body)
			}
			// Acting as alice: a non-admin sees only her own token.
			if r.header.Get("X-Total") != "1" {
				t.Errorf("X-Total = %q, want 1 (alice's tokens); body %s", r.header.Get("X-Total"), r.body)
			}
		})
	}
}

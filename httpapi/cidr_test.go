package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/httpapi"
)

// fromIP sets the client address of every request to the X-Test-IP
// header, for tests.
func fromIP(_ *patkit.Options, ho *httpapi.Options) {
	ho.ClientIP = func(r *http.Request) string { return r.Header.Get("X-Test-Ip") }
}

func ipHeader(ip string) http.Header { return http.Header{"X-Test-Ip": {ip}} }

const msgAddress = `{"error":"invalid_token","error_description":"Token is not allowed from this IP address. It is restricted to its allowed_cidrs."}`

// TestAllowedCIDRsCreate: the four create endpoints take allowed_cidrs
// as an array, a comma-separated string or JSON; the entity shows the
// normalized list, and the token works only from inside it.
func TestAllowedCIDRsCreate(t *testing.T) {
	e := newEnv(t, fromIP)
	rootTok, _ := e.token(rootID, "root", patkit.ScopeAPI, patkit.ScopeSudo)
	aliceTok, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
	want := `["10.0.0.0/8","192.0.2.7/32","2001:db8::/32"]`
	for _, tc := range []struct {
		name  string
		r     req
		extra string // fields of the entity kind besides allowed_cidrs
	}{
		{"admin PAT, array form", req{method: "POST", path: "/api/v4/users/2/personal_access_tokens", token: rootTok,
			form: url.Values{"name": {"a"}, "scopes[]": {"api"}, "allowed_cidrs[]": {"10.1.2.3/8", "192.0.2.7", "2001:db8::1/32", "10.0.0.0/8"}}}, ""},
		{"own PAT, comma form", req{method: "POST", path: "/api/v4/user/personal_access_tokens", token: aliceTok,
			form: url.Values{"name": {"a"}, "scopes": {"k8s_proxy"}, "allowed_cidrs": {" 10.0.0.0/8 , 192.0.2.7,2001:db8::/32, ::ffff:10.0.0.0/104"}}}, ""},
		{"impersonation, JSON array", req{method: "POST", path: "/api/v4/users/2/impersonation_tokens", token: rootTok,
			json: map[string]any{"name": "a", "scopes": []string{"api"}, "expires_at": "2026-04-01",
				"allowed_cidrs": []string{"2001:db8::/32", "192.0.2.7/32", "10.0.0.0/8"}}}, ""},
		{"project, JSON string", req{method: "POST", path: "/api/v4/projects/1/access_tokens", token: aliceTok,
			json: map[string]any{"name": "a", "scopes": []string{"api"}, "allowed_cidrs": "10.0.0.0/8,192.0.2.7,2001:db8::/32"}}, ""},
		{"group", req{method: "POST", path: "/api/v4/groups/1/access_tokens", token: aliceTok,
			form: url.Values{"name": {"a"}, "scopes[]": {"api"}, "allowed_cidrs[]": {"10.0.0.0/8", "192.0.2.7", "2001:db8::/32"}}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.r)
			if r.code != 201 || !strings.Contains(r.body, `"allowed_cidrs":`+want) {
				t.Fatalf("%d %s; want 201 with allowed_cidrs %s", r.code, r.body, want)
			}
			secret := r.secret(t)
			self := func(ip string) *resp {
				return e.do(req{method: "GET", path: "/api/v4/personal_access_tokens/self", token: secret, header: ipHeader(ip)})
			}
			for _, ip := range []string{"10.9.9.9", "192.0.2.7", "2001:db8::5", "::ffff:10.1.1.1"} {
				// k8s_proxy alone is refused by scope (403), after the
				// address is accepted.
				if r := self(ip); r.code == 401 || r.code == 200 && !strings.Contains(r.body, `"allowed_cidrs":`+want) {
					t.Errorf("from %s: %d %s", ip, r.code, r.body)
				}
			}
			for _, ip := range []string{"192.0.2.8", "11.0.0.1", "", "garbage"} {
				self(ip).check(t, 401, msgAddress)
				if h := self(ip).header.Get("WWW-Authenticate"); !strings.Contains(h, `error="invalid_token"`) {
					t.Errorf("WWW-Authenticate %q", h)
				}
			}
		})
	}
	// Without allowed_cidrs (or with an empty one) the entity has no such
	// field: a GitLab client sees GitLab's entity.
	for _, f := range []url.Values{{"name": {"a"}, "scopes[]": {"api"}}, {"name": {"a"}, "scopes[]": {"api"}, "allowed_cidrs": {""}},
		{"name": {"a"}, "scopes[]": {"api"}, "allowed_cidrs[]": {""}}} {
		r := e.do(req{method: "POST", path: "/api/v4/users/2/personal_access_tokens", token: rootTok, form: f})
		if r.code != 201 || strings.Contains(r.body, "allowed_cidrs") {
			t.Errorf("%v: %d %s", f, r.code, r.body)
		}
	}
	r := e.do(req{method: "POST", path: "/api/v4/users/2/personal_access_tokens", token: rootTok,
		json: map[string]any{"name": "a", "scopes": []string{"api"}, "allowed_cidrs": []string{}}})
	if r.code != 201 || strings.Contains(r.body, "allowed_cidrs") {
		t.Errorf("JSON []: %d %s", r.code, r.body)
	}
}

// TestAllowedCIDRsInvalid: bad input answers 400 with Grape's field
// error and creates nothing.
func TestAllowedCIDRsInvalid(t *testing.T) {
	e := newEnv(t, fromIP)
	rootTok, _ := e.token(rootID, "root", patkit.ScopeAPI)
	many := make([]string, patkit.MaxAllowedCIDRs+1)
	for i := range many {
		many[i] = fmt.Sprintf("10.0.%d.0/24", i)
	}
	for name, v := range map[string]any{
		"not an address": []string{"10.0.0.0/8", "example.com"},
		"bad length":     []string{"10.0.0.0/33"},
		"zone":           []string{"fe80::1%eth0"},
		"number":         []any{"10.0.0.0/8", 10},
		"object":         map[string]any{"a": "10.0.0.0/8"},
		"bool":           true,
		"comma garbage":  "10.0.0.0/8,,nope",
	} {
		t.Run(name, func(t *testing.T) {
			e.do(req{method: "POST", path: "/api/v4/users/2/personal_access_tokens", token: rootTok,
				json: map[string]any{"name": "a", "scopes": []string{"api"}, "allowed_cidrs": v}}).
				check(t, 400, `{"error":"allowed_cidrs is invalid"}`)
		})
	}
	e.do(req{method: "POST", path: "/api/v4/projects/1/access_tokens", token: rootTok,
		form: url.Values{"name": {"a"}, "scopes[]": {"api"}, "allowed_cidrs[]": many}}).
		check(t, 400, fmt.Sprintf(`{"error":"allowed_cidrs is expected to have length less than or equal to %d"}`, patkit.MaxAllowedCIDRs))
	// Exactly the maximum is accepted.
	if r := e.do(req{method: "POST", path: "/api/v4/projects/1/access_tokens", token: rootTok,
		form: url.Values{"name": {"a"}, "scopes[]": {"api"}, "allowed_cidrs[]": many[1:]}}); r.code != 201 {
		t.Errorf("%d CIDRs: %d %s", patkit.MaxAllowedCIDRs, r.code, r.body)
	}
	r := e.do(req{method: "GET", path: "/api/v4/personal_access_tokens?per_page=100", token: rootTok})
	if strings.Count(r.body, `"allowed_cidrs"`) != 1 {
		t.Errorf("refused creations created tokens: %s", r.body)
	}
}

// TestAllowedCIDRsRotation: rotation keeps the networks.
func TestAllowedCIDRsRotation(t *testing.T) {
	e := newEnv(t, fromIP)
	r := e.do(req{method: "POST", path: "/api/v4/users/2/personal_access_tokens", token: mustToken(e, rootID),
		form: url.Values{"name": {"a"}, "scopes[]": {"api"}, "allowed_cidrs": {"192.0.2.0/24"}}})
	secret := r.secret(t)
	r = e.do(req{method: "POST", path: "/api/v4/personal_access_tokens/self/rotate", token: secret, header: ipHeader("192.0.2.1")})
	if r.code != 200 || !strings.Contains(r.body, `"allowed_cidrs":["192.0.2.0/24"]`) {
		t.Fatalf("rotate: %d %s", r.code, r.body)
	}
	e.do(req{method: "GET", path: "/api/v4/personal_access_tokens/self", token: r.secret(t), header: ipHeader("203.0.113.1")}).
		check(t, 401, msgAddress)
}

func mustToken(e *env, id int64) string {
	s, _ := e.token(id, "t", patkit.ScopeAPI)
	return s
}

// TestForwardedFor: X-Forwarded-For counts only from trusted proxies,
// read from the right.
func TestForwardedFor(t *testing.T) {
	ip := httpapi.ForwardedFor([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")})
	for _, tc := range []struct {
		remote string
		xff    []string
		want   string
	}{
		{"203.0.113.1:5000", []string{"192.0.2.1"}, "203.0.113.1"},               // untrusted peer: header ignored
		{"10.0.0.1:5000", nil, "10.0.0.1"},                                       // trusted, no header
		{"10.0.0.1:5000", []string{"192.0.2.1"}, "192.0.2.1"},                    // one proxy
		{"10.0.0.1:5000", []string{"198.51.100.1, 192.0.2.1"}, "192.0.2.1"},      // client-written entry ignored
		{"10.0.0.1:5000", []string{"192.0.2.1, 10.0.0.2"}, "192.0.2.1"},          // two proxies
		{"10.0.0.1:5000", []string{"192.0.2.1", "10.0.0.2"}, "192.0.2.1"},        // two headers
		{"10.0.0.1:5000", []string{"10.0.0.3, 10.0.0.2"}, "10.0.0.3"},            // all trusted: leftmost
		{"[::1]:5000", []string{"::ffff:192.0.2.1"}, "192.0.2.1"},                // unmapped
		{"[::1]:5000", []string{"[2001:db8::1]:443"}, "2001:db8::1"},             // port
		{"10.0.0.1:5000", []string{"junk, 192.0.2.1"}, "192.0.2.1"},              // junk left of the client
		{"10.0.0.1:5000", []string{"192.0.2.1, junk"}, ""},                       // junk from a trusted hop
		{"[::ffff:10.0.0.1]:5000", []string{"192.0.2.1"}, "192.0.2.1"},           // mapped peer
		{"203.0.113.1:5000", []string{"10.0.0.1, 10.0.0.2"}, "203.0.113.1"},      // spoofed trusted entries
		{"10.0.0.1:5000", []string{"2001:db8::1%eth0, 10.0.0.2"}, "2001:db8::1"}, // zone dropped
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		for _, h := range tc.xff {
			r.Header.Add("X-Forwarded-For", h)
		}
		if got := ip(r); got != tc.want {
			t.Errorf("RemoteAddr %s, X-Forwarded-For %q: %q, want %q", tc.remote, tc.xff, got, tc.want)
		}
	}
}

// TestRotationGraceHTTP: within the window the rotated-out token works,
// and a rotation with it answers 400 and revokes nothing; four clients
// self-rotating one token leave one working token.
func TestRotationGraceHTTP(t *testing.T) {
	e := newEnv(t, func(po *patkit.Options, _ *httpapi.Options) { po.RotationGrace = time.Minute })
	old, oldID := e.token(aliceID, "shared", patkit.ScopeAPI)
	const refused = `{"message":"400 Bad request - Token already rotated: use the token that replaced it"}`

	var (
		mu      sync.Mutex
		codes   []int
		winners []string
		wg      sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			r := e.do(req{method: "POST", path: "/api/v4/personal_access_tokens/self/rotate", token: old})
			mu.Lock()
			defer mu.Unlock()
			codes = append(codes, r.code)
			if r.code == 200 {
				winners = append(winners, r.secret(t))
			}
		})
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d rotations succeeded (%v), want 1", len(winners), codes)
	}
	for range 3 { // each loser retries
		e.do(req{method: "POST", path: "/api/v4/personal_access_tokens/self/rotate", token: old}).check(t, 400, refused)
	}
	e.do(req{method: "POST", path: fmt.Sprint("/api/v4/personal_access_tokens/", oldID, "/rotate"), token: old}).check(t, 400, refused)
	e.do(req{method: "POST", path: fmt.Sprint("/api/v4/personal_access_tokens/", oldID, "/rotate"), token: mustToken(e, rootID)}).check(t, 400, refused)
	if r := e.do(req{method: "GET", path: "/api/v4/personal_access_tokens/self", token: old}); r.code != 200 || !strings.Contains(r.body, `"revoked":true`) {
		t.Errorf("old token within the window: %d %s", r.code, r.body)
	}
	if r := e.do(req{method: "GET", path: "/api/v4/personal_access_tokens/self", token: winners[0]}); r.code != 200 {
		t.Errorf("new token: %d %s", r.code, r.body)
	}
	*e.clock = e.clock.Add(time.Minute)
	e.do(req{method: "GET", path: "/api/v4/personal_access_tokens/self", token: old}).check(t, 401,
		`{"error":"invalid_token","error_description":"Token was revoked. You have to re-authorize from the user."}`)
	if r := e.do(req{method: "GET", path: "/api/v4/personal_access_tokens/self", token: winners[0]}); r.code != 200 {
		t.Errorf("new token after the window: %d %s", r.code, r.body)
	}
}

// TestImpersonationIfUnmodifiedSinceRevoked: a revoked token's last
// change is its revocation.
func TestImpersonationIfUnmodifiedSinceRevoked(t *testing.T) {
	e := newEnv(t)
	rootTok, _ := e.token(rootID, "root", patkit.ScopeAPI)
	_, imp := e.impersonationToken(aliceID, "imp", patkit.ScopeAPI)
	path := fmt.Sprint("/api/v4/users/2/impersonation_tokens/", imp)
	*e.clock = now.Add(time.Hour) // revoked at 13:00:00.123
	e.do(req{method: "DELETE", path: path, token: rootTok}).check(t, 204, "")
	del := func(since string) *resp {
		return e.do(req{method: "DELETE", path: path, token: rootTok, header: http.Header{"If-Unmodified-Since": {since}}})
	}
	del("Sun, 01 Mar 2026 12:30:00 GMT").check(t, 412, `{"message":"412 Precondition Failed"}`) // after creation, before revocation
	del("Sun, 01 Mar 2026 13:00:00 GMT").check(t, 412, `{"message":"412 Precondition Failed"}`)
	del("Sun, 01 Mar 2026 13:00:01 GMT").check(t, 204, "")
}

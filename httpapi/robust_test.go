package httpapi_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/httpapi"
)

func TestRouting(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
	tests := []struct {
		name string
		r    req
		code int
		body string
	}{
		{"unknown path", req{method: "GET", path: "/api/v4/projects", token: tok}, 404, `{"message":"404 Not Found"}`},
		{"outside the API", req{method: "GET", path: "/"}, 404, `{"message":"404 Not Found"}`},
		{"wrong method answers GitLab's catch-all 404", req{method: "PUT", path: "/api/v4/personal_access_tokens", token: tok}, 404, `{"message":"404 Not Found"}`},
		{"unencoded project path is not a route", req{method: "GET", path: "/api/v4/projects/acme/widgets/access_tokens", token: tok}, 404, `{"message":"404 Not Found"}`},
		{"encoded slash stays in one segment", req{method: "GET", path: "/api/v4/projects/acme%2fwidgets/access_tokens", token: tok}, 200, `[]`},
		{"encoded group path of several segments", req{method: "GET", path: "/api/v4/groups/acme%2Fsub%2Fteam/access_tokens", token: tok}, 404, `{"message":"404 Group Not Found"}`},
		{"self wins over {id}", req{method: "GET", path: "/api/v4/personal_access_tokens/self", token: tok}, 200, ""},
		{"malformed JSON", req{method: "POST", path: "/api/v4/user/personal_access_tokens", token: tok, raw: `{"name":`, contentType: "application/json"},
			400, `{"message":"400 Bad request - Malformed JSON"}`},
		{"trailing garbage after JSON", req{method: "POST", path: "/api/v4/user/personal_access_tokens", token: tok, raw: `{"name":"x"} x`, contentType: "application/json"},
			400, `{"message":"400 Bad request - Malformed JSON"}`},
		{"JSON that is not an object is ignored", req{method: "POST", path: "/api/v4/user/personal_access_tokens", token: tok, raw: `["name"]`, contentType: "application/json; charset=utf-8"},
			400, `{"error":"name is missing, scopes is missing"}`},
		{"JSON null counts as absent", req{method: "POST", path: "/api/v4/user/personal_access_tokens", token: tok, json: map[string]any{"name": nil, "scopes": nil}},
			400, `{"error":"name is missing, scopes is missing"}`},
		{"credentials checked before a JSON body is read", req{method: "POST", path: "/api/v4/user/personal_access_tokens", raw: `{`, contentType: "application/json"},
			401, `{"message":"401 Unauthorized"}`},
		{"malformed query", req{method: "GET", path: "/api/v4/personal_access_tokens?page=%zz", token: tok},
			400, `{"message":"400 Bad request - Malformed request parameters"}`},
		{"other content types are ignored", req{method: "POST", path: "/api/v4/user/personal_access_tokens?name=a&scopes=k8s_proxy", token: tok, raw: `hello`, contentType: "text/plain"},
			201, ""},
		{"huge numbers", req{method: "GET", path: "/api/v4/personal_access_tokens?page=99999999999999999999", token: tok},
			400, `{"error":"page is invalid"}`},
		{"huge page", req{method: "GET", path: "/api/v4/personal_access_tokens?page=9223372036854775807&per_page=100", token: tok}, 200, `[]`},
		{"negative page and per_page", req{method: "GET", path: "/api/v4/personal_access_tokens?page=-3&per_page=-1", token: tok}, 200, ""},
		{"JSON float id", req{method: "POST", path: "/api/v4/projects/1/access_tokens", token: tok, json: map[string]any{"name": "x", "scopes": []string{"api"}, "access_level": 1.5}},
			400, `{"error":"access_level is invalid"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.r)
			if tt.body == "" {
				if r.code != tt.code {
					t.Fatalf("status %d, want %d: %s", r.code, tt.code, r.body)
				}
				return
			}
			r.check(t, tt.code, tt.body)
		})
	}
}

func TestMultipartBody(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("name", "agent")
	mw.WriteField("scopes[]", "k8s_proxy")
	mw.WriteField("scopes[]", "self_rotate")
	mw.Close()
	r := e.do(req{method: "POST", path: "/api/v4/user/personal_access_tokens", token: tok, raw: buf.String(), contentType: mw.FormDataContentType()})
	r.check(t, 201, `{"id":2,"name":"agent","revoked":false,"created_at":"2026-03-01T12:00:00.123Z","description":null,"scopes":["k8s_proxy","self_rotate"],"user_id":2,"last_used_at":null,"active":true,"granular":false,"expires_at":"2027-03-01","last_used_ips":[],"token":"<secret>"}`)
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t, func(_ *patkit.Options, ho *httpapi.Options) { ho.MaxBodyBytes = 64 })
	tok, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
	big := `{"name":"` + strings.Repeat("x", 100) + `"}`
	for _, ct := range []string{"application/json", "application/x-www-form-urlencoded", "text/plain"} {
		t.Run(ct, func(t *testing.T) {
			e.do(req{method: "POST", path: "/api/v4/user/personal_access_tokens", token: tok, raw: big, contentType: ct}).
				check(t, 413, `{"message":"413 Request Entity Too Large"}`)
		})
	}
	e.do(req{method: "POST", path: "/api/v4/user/personal_access_tokens", token: tok, raw: `{"name":"x"}`, contentType: "application/json"}).
		check(t, 400, `{"error":"scopes is missing"}`)
}

func TestUnauthenticatedBeforeValidation(t *testing.T) {
	e := newEnv(t)
	e.do(req{method: "POST", path: "/api/v4/users/x/personal_access_tokens"}).check(t, 401, body401)
	e.do(req{method: "GET", path: "/api/v4/personal_access_tokens?per_page=0"}).check(t, 401, body401)
}

// TestNoSecretsInLogs checks that request logs redact credentials passed
// in the query string and never include headers.
func TestNoSecretsInLogs(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
	e.do(req{method: "GET", path: "/api/v4/personal_access_tokens?private_token=" + tok + "&per_page=5"})
	e.do(req{method: "GET", path: "/api/v4/personal_access_tokens?access_token=" + tok})
	e.do(req{method: "GET", path: "/api/v4/personal_access_tokens?private%5Ftoken=" + tok})
	e.do(req{method: "GET", path: "/api/v4/personal_access_tokens", token: tok})
	e.do(req{method: "GET", path: "/api/v4/nope?private_token=" + tok})
	logs := e.logs.String()
	if strings.Contains(logs, tok) || strings.Contains(logs, tok[6:]) {
		t.Fatalf("secret in logs:\n%s", logs)
	}
	if !strings.Contains(logs, `"path":"/api/v4/personal_access_tokens?private_token=[REDACTED]&per_page=5"`) {
		t.Errorf("request not logged as expected:\n%s", logs)
	}
	if !strings.Contains(logs, `"status":200`) {
		t.Errorf("status not logged:\n%s", logs)
	}
}

// TestPanicRecovered checks that a panic in the Service's dependencies is
// answered with a generic 500 and logged.
func TestPanicRecovered(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
	svc, err := patkit.New(panicStore{e.store}, e.dir, bytes.Repeat([]byte("k"), 32), nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	h := conform(t, httpapi.New(svc, &httpapi.Options{Logger: newJSONLogger(&logs)}))
	r := httptest.NewRequest("GET", "/api/v4/personal_access_tokens", nil)
	r.Header.Set("Private-Token", tok)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	(&resp{code: rec.Code, header: rec.Header(), body: rec.Body.String()}).check(t, 500, `{"message":"500 Internal Server Error"}`)
	if !strings.Contains(logs.String(), "panic") || strings.Contains(logs.String(), tok) {
		t.Errorf("logs:\n%s", logs.String())
	}
}

// TestStoreErrors checks the 503 and 500 rows of the error table.
func TestStoreErrors(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
	for _, tt := range []struct {
		err  error
		code int
		body string
	}{
		{patkit.ErrUnavailable, 503, `{"message":"503 Service Unavailable"}`},
		{errBoom, 500, `{"message":"500 Internal Server Error"}`},
	} {
		svc, err := patkit.New(failingList{e.store, tt.err}, e.dir, bytes.Repeat([]byte("k"), 32), nil)
		if err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		h := conform(t, httpapi.New(svc, &httpapi.Options{Logger: newJSONLogger(&logs)}))
		r := httptest.NewRequest("GET", "/api/v4/personal_access_tokens", nil)
		r.Header.Set("Private-Token", tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		(&resp{code: rec.Code, header: rec.Header(), body: rec.Body.String()}).check(t, tt.code, tt.body)
		if !strings.Contains(logs.String(), `"level":"ERROR"`) {
			t.Errorf("error not logged:\n%s", logs.String())
		}
	}
}

func TestHEAD(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.token(aliceID, "alice", patkit.ScopeReadAPI)
	r := e.do(req{method: http.MethodHead, path: "/api/v4/personal_access_tokens", token: tok})
	if r.code != 200 || r.header.Get("X-Total") != "1" {
		t.Fatalf("HEAD: %d %v", r.code, r.header)
	}
}

package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/httpapi"
)

// loggedPaths returns the path attribute of every record in logs.
func loggedPaths(t *testing.T, logs *bytes.Buffer) []string {
	t.Helper()
	var paths []string
	dec := json.NewDecoder(logs)
	for dec.More() {
		var rec struct{ Path string }
		if err := dec.Decode(&rec); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, rec.Path)
	}
	return paths
}

// TestLogRedaction checks that no form of a secret reaches the request
// log: near-miss credential names, secrets in the path or in ordinary
// parameters, percent-encoded or not, with or without the prefix.
func TestLogRedaction(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
	body := strings.TrimPrefix(tok, "glpat-")
	enc := "%" + strings.ToUpper(string("0123456789abcdef"[tok[0]>>4])+string("0123456789abcdef"[tok[0]&15])) + tok[1:] // first byte percent-encoded
	const list = "/api/v4/personal_access_tokens"
	tests := []struct {
		name, path string
		want       string // the logged path, when it matters
	}{
		{"exact name", list + "?private_token=" + tok + "&per_page=5", list + "?private_token=[REDACTED]&per_page=5"},
		{"NUL after the name", list + "?private_token%00=" + tok, list + "?private_token%00=[REDACTED]"},
		{"space after the name", list + "?private_token%20=" + tok, list + "?private_token%20=[REDACTED]"},
		{"plus after the name", list + "?private_token+=" + tok, ""},
		{"bare token", list + "?token=" + tok, list + "?token=[REDACTED]"},
		{"upper case and dash", list + "?PRIVATE-TOKEN=" + tok, ""},
		{"encoded name", list + "?%70rivate%5Ftoken=" + tok, ""},
		{"bracketed name", list + "?private_token[]=" + tok, ""},
		{"any name containing token", list + "?job_token_x=not-a-secret", list + "?job_token_x=[REDACTED]"},
		{"semicolon separator", list + "?a=1;token=" + tok, ""},
		{"in the path", list + "/" + tok, list + "/[REDACTED]"},
		{"encoded in the path", list + "/" + enc, list + "/[REDACTED]"},
		{"in search", list + "?search=" + tok, list + "?search=[REDACTED]"},
		{"inside search words", list + "?search=my+" + tok + "+laptop", list + "?search=my+[REDACTED]+laptop"},
		{"encoded in search", list + "?search=" + url.QueryEscape("x "+tok), ""},
		{"percent-encoded first byte in search", list + "?search=" + enc, ""},
		{"without the prefix", list + "?search=" + body, list + "?search=[REDACTED]"},
		{"truncated after the prefix", list + "?search=glpat-" + body[:12], list + "?search=[REDACTED]"},
		{"as a parameter name", list + "?" + tok + "=1", ""},
		{"in a fragment-like value", list + "?sort=" + tok + "%23x", ""},
		{"ordinary values are kept", list + "?search=laptop&sort=name_asc&per_page=5", list + "?search=laptop&sort=name_asc&per_page=5"},
		{"project paths are kept", "/api/v4/projects/acme%2Fwidgets/access_tokens?per_page=5", "/api/v4/projects/acme%2Fwidgets/access_tokens?per_page=5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.logs.Reset()
			e.do(req{method: "GET", path: tt.path, token: tok})
			logs := e.logs.String()
			for _, s := range []string{tok, body, body[:12]} {
				if strings.Contains(logs, s) {
					t.Fatalf("secret %q in logs:\n%s", s, logs)
				}
			}
			paths := loggedPaths(t, bytes.NewBufferString(logs))
			if len(paths) == 0 {
				t.Fatalf("nothing logged")
			}
			if tt.want != "" && paths[len(paths)-1] != tt.want {
				t.Errorf("logged path %q, want %q", paths[len(paths)-1], tt.want)
			}
		})
	}
}

// TestLogRedactionCustomPrefix checks that the secret prefix of the
// instance is the one redacted.
func TestLogRedactionCustomPrefix(t *testing.T) {
	e := newEnv(t, func(po *patkit.Options, ho *httpapi.Options) {
		po.Prefix = "acme."
	})
	tok, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
	e.do(req{method: "GET", path: "/api/v4/personal_access_tokens?search=" + tok[:12] + "&q=" + tok, token: tok})
	logs := e.logs.String()
	if strings.Contains(logs, tok[:12]) || strings.Contains(logs, tok[5:]) {
		t.Fatalf("secret in logs:\n%s", logs)
	}
}

// TestLoggedURLIsCapped checks that a huge request line is logged cut
// short and marked so.
func TestLoggedURLIsCapped(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
	huge := strings.Repeat("a", 1<<20)
	for _, path := range []string{
		"/api/v4/personal_access_tokens?search=" + huge,
		"/api/v4/personal_access_tokens?search=x&" + strings.Repeat("sort=name_asc&", 1<<16) + "private_token=" + tok,
		"/api/v4/" + huge,
		"/api/v4/personal_access_tokens?private_token=" + huge + "&per_page=5",
	} {
		e.logs.Reset()
		e.do(req{method: "GET", path: path, token: tok})
		for _, p := range loggedPaths(t, e.logs) {
			if len(p) > 2<<10+len("[TRUNCATED]") || !strings.HasSuffix(p, "[TRUNCATED]") {
				t.Errorf("logged path of %d bytes ending %q", len(p), p[max(0, len(p)-20):])
			}
			if strings.Contains(p, tok) {
				t.Errorf("secret in logged path")
			}
		}
	}
}

// TestLoggedPathIsTheRequestTarget checks that the logged path is the
// request's target as the client sent it, whatever prefix the host's mux
// strips, redacted there too; and that a request made in process, which
// has no RequestURI, is logged by its URL.
func TestLoggedPathIsTheRequestTarget(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
	mounted := http.StripPrefix("/gitlab", e.api)
	for _, tt := range []struct{ target, want string }{
		{"/gitlab/api/v4/personal_access_tokens/self", "/gitlab/api/v4/personal_access_tokens/self"},
		{"/gitlab/api/v4/personal_access_tokens?search=" + tok, "/gitlab/api/v4/personal_access_tokens?search=[REDACTED]"},
		{"/gitlab/api/v4/personal_access_tokens?", "/gitlab/api/v4/personal_access_tokens?"},
	} {
		e.logs.Reset()
		r := httptest.NewRequest("GET", tt.target, nil)
		r.Header.Set("PRIVATE-TOKEN", tok)
		mounted.ServeHTTP(httptest.NewRecorder(), r)
		if paths := loggedPaths(t, e.logs); len(paths) != 1 || paths[0] != tt.want {
			t.Errorf("GET %s: logged paths %q, want [%q]", tt.target, paths, tt.want)
		}
	}

	e.logs.Reset()
	r, err := http.NewRequest("GET", "http://gitlab.example.com/api/v4/personal_access_tokens?search="+tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("PRIVATE-TOKEN", tok)
	e.api.ServeHTTP(httptest.NewRecorder(), r)
	if paths, want := loggedPaths(t, e.logs), "/api/v4/personal_access_tokens?search=[REDACTED]"; len(paths) != 1 || paths[0] != want {
		t.Errorf("in process: logged paths %q, want [%q]", paths, want)
	}
}

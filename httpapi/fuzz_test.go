package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/internal/pgtest"
	"github.com/patkit/patkit/memstore"
	"github.com/patkit/patkit/pgstore"
	"github.com/patkit/patkit/sqlitestore"
)

// Placeholders a fuzzed path or body may hold, replaced by a real secret
// of the instance before the request is sent: with and without its prefix.
const (
	secretHole = "{SECRET}"
	bodyHole   = "{BODY}"
)

// FuzzAPI sends arbitrary paths, queries and bodies, with the credential
// in a header, in the input itself or nowhere: nothing may answer 5xx or
// anything but JSON (or GitLab's plain-text 400 for malformed strings), and
// no secret may reach the log. CI runs the seeds; run it longer with
//
//	go test -run '^$' -fuzz FuzzAPI -fuzztime 5m ./httpapi
//
// on memstore, or with PATKIT_FUZZ_STORE=sqlite, or =postgres (with
// PATKIT_TEST_POSTGRES_DSN), on a real database.
func FuzzAPI(f *testing.F) {
	words := strings.Repeat("alpha beta gamma delta ", 500)
	seeds := []struct{ method, path, ct, body string }{
		{"GET", "/api/v4/personal_access_tokens?revoked=1&state=active&created_after=2026-01-01&sort=name_desc&page=2&per_page=1", "", ""},
		{"POST", "/api/v4/users/2/personal_access_tokens", "application/json", `{"name":"x","scopes":["api"],"expires_at":"2026-05-01"}`},
		{"POST", "/api/v4/users/2/impersonation_tokens", "application/x-www-form-urlencoded", "name=x&scopes[]=api&expires_at=2026-05-01"},
		{"POST", "/api/v4/projects/acme%2Fwidgets/access_tokens", "application/json", `{"name":"x","scopes":["api"],"access_level":30}`},
		{"POST", "/api/v4/groups/1/access_tokens/1/rotate", "application/json", `{"expires_at":[1]}`},
		{"DELETE", "/api/v4/personal_access_tokens/1", "multipart/form-data; boundary=x", "--x\r\n"},
		{"POST", "/api/v4/personal_access_tokens/self/rotate?sudo=alice", "application/json", `{"sudo":{"a":1}}`},
		{"GET", "/api/v4/users/2/impersonation_tokens/1e9", "", ""},
		// Near-miss credential names, secrets in the path and in search.
		{"GET", "/api/v4/personal_access_tokens?private_token%00=" + secretHole, "", ""},
		{"GET", "/api/v4/personal_access_tokens?private_token%20=" + secretHole + "&per_page=2", "", ""},
		{"GET", "/api/v4/personal_access_tokens?token=" + secretHole, "", ""},
		{"GET", "/api/v4/personal_access_tokens?PRIVATE-TOKEN=" + secretHole, "", ""},
		{"GET", "/api/v4/personal_access_tokens?private_token[]=" + secretHole, "", ""},
		{"GET", "/api/v4/personal_access_tokens?%70rivate_token=" + secretHole, "", ""},
		{"GET", "/api/v4/personal_access_tokens?access_token=" + secretHole + "&bearer_token=" + secretHole, "", ""},
		{"GET", "/api/v4/personal_access_tokens/" + secretHole, "", ""},
		{"GET", "/api/v4/personal_access_tokens?search=" + secretHole, "", ""},
		{"GET", "/api/v4/personal_access_tokens?search=" + bodyHole + "&sort=" + secretHole, "", ""},
		{"POST", "/api/v4/user/personal_access_tokens", "application/x-www-form-urlencoded", "private_token=" + secretHole + "&name=" + secretHole + "&scopes[]=k8s_proxy"},
		{"POST", "/api/v4/user/personal_access_tokens", "application/x-www-form-urlencoded", "private_token%00=" + secretHole + "&name=x"},
		{"POST", "/api/v4/user/personal_access_tokens", "application/json", `{"private_token":"` + secretHole + `","name":"` + bodyHole + `"}`},
		// NUL bytes and invalid UTF-8.
		{"POST", "/api/v4/users/2/personal_access_tokens?name=a%00b&scopes[]=api", "", ""},
		{"POST", "/api/v4/users/2/personal_access_tokens", "application/x-www-form-urlencoded", "name=%ff&scopes[]=api"},
		{"POST", "/api/v4/users/2/personal_access_tokens", "application/json", "{\"name\":\"a\\u0000b\",\"scopes\":[\"api\"]}"},
		{"GET", "/api/v4/personal_access_tokens?search=%00", "", ""},
		{"GET", "/api/v4/personal_access_tokens?search=%c0%af&sort=%ff", "", ""},
		{"GET", "/api/v4/personal_access_tokens/%00", "", ""},
		// Huge search strings.
		{"GET", "/api/v4/personal_access_tokens?search=" + url.QueryEscape(words), "", ""},
		{"GET", "/api/v4/personal_access_tokens?search=" + strings.Repeat("x", 64<<10), "", ""},
		{"GET", "/api/v4/personal_access_tokens", "application/json", `{"search":"` + words + `"}`},
		// Identity lookups.
		{"GET", "/api/v4/user", "", ""},
		{"GET", "/api/v4/users?username=alice&search=a&active=1&order_by=id&sort=asc", "", ""},
		{"GET", "/api/v4/users?extern_uid=1&provider=x&per_page=1", "", ""},
		{"GET", "/api/v4/users/99999999999999999999", "", ""},
		{"GET", "/api/v4/projects/acme%2Fwidgets?statistics=1", "", ""},
		{"GET", "/api/v4/groups/acme%2F..%2F", "", ""},
		{"GET", "/api/v4/version", "", ""},
		{"GET", "/api/v4/personal_access_tokens/self/associations?min_access_level=30&page=2&per_page=1", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.ct, s.body)
	}
	e := newEnvOn(f, fuzzStore(f))
	root, _ := e.token(rootID, "root", patkit.ScopeAPI, patkit.ScopeSudo)
	alice, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
	e.resourceToken(patkit.ResourceProject, "bot", 30, patkit.ScopeAPI)
	e.impersonationToken(aliceID, "imp", patkit.ScopeAPI)
	secrets := []string{root, root[len("glpat-"):], alice, alice[len("glpat-"):]}
	fill := strings.NewReplacer(secretHole, alice, bodyHole, alice[len("glpat-"):])
	f.Fuzz(func(t *testing.T, method, path, ct, body string) {
		path, body = fill.Replace(path), fill.Replace(body)
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t#") {
			return
		}
		if _, err := url.ParseRequestURI(path); err != nil {
			return // the server rejects the request line
		}
		switch method {
		case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
		default:
			method = "POST"
		}
		e.logs.Reset()
		for _, tok := range []string{root, alice, ""} {
			r := httptest.NewRequest(method, "http://example.com"+path, strings.NewReader(body))
			if ct != "" {
				r.Header.Set("Content-Type", ct)
			}
			if tok != "" {
				r.Header.Set("Private-Token", tok)
			}
			rec := httptest.NewRecorder()
			conform(t, e.api).ServeHTTP(rec, r)
			if rec.Code >= 500 {
				t.Fatalf("%s %q: %d %s", method, path, rec.Code, rec.Body)
			}
			if rec.Code >= 300 && rec.Code < 400 || rec.Code == 204 || method == "HEAD" {
				continue
			}
			if rec.Code == 400 && rec.Body.String() == "Bad Request" {
				continue // GitLab's answer to NUL and invalid UTF-8, in plain text
			}
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("%s %q: %d not JSON: %q", method, path, rec.Code, rec.Body)
			}
		}
		logs := e.logs.String()
		for _, s := range secrets {
			if strings.Contains(logs, s) {
				t.Fatalf("%s %q: secret in the log:\n%s", method, path, logs)
			}
		}
	})
}

// fuzzStore returns the store PATKIT_FUZZ_STORE names: memstore by
// default, "sqlite" or "postgres".
func fuzzStore(t testing.TB) patkit.Store {
	var (
		s interface {
			patkit.Store
			Close() error
		}
		err error
	)
	switch os.Getenv("PATKIT_FUZZ_STORE") {
	case "":
		return memstore.New()
	case "sqlite":
		s, err = sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "fuzz.db"), nil)
	case "postgres":
		dsn := os.Getenv("PATKIT_TEST_POSTGRES_DSN")
		if dsn == "" {
			t.Skip("PATKIT_FUZZ_STORE=postgres needs PATKIT_TEST_POSTGRES_DSN")
		}
		// A schema of its own, dropped at the end. Without the trigram
		// index Migrate installs no pg_trgm, which dropping the schema
		// would take from every other schema that uses it; searches run
		// the same SQL.
		schema := fmt.Sprintf("fuzz_%d", time.Now().UnixNano())
		s, err = pgstore.Open(context.Background(), dsn, &pgstore.Options{Schema: schema, NoSearchIndex: true})
		pgtest.DropSchemaAtEnd(t, dsn, schema)
	default:
		t.Fatalf("PATKIT_FUZZ_STORE=%q: want sqlite or postgres", os.Getenv("PATKIT_FUZZ_STORE"))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

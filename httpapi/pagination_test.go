package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/httpapi"
)

// pageEnv has alice holding five tokens (IDs 1-5).
func pageEnv(t *testing.T, opts ...envOption) (*env, string) {
	t.Helper()
	e := newEnv(t, opts...)
	tok, _ := e.token(aliceID, "t1", patkit.ScopeAPI)
	for i := 2; i <= 5; i++ {
		e.token(aliceID, fmt.Sprint("t", i), patkit.ScopeAPI)
	}
	return e, tok
}

func header(t *testing.T, r *resp, name, want string) {
	t.Helper()
	got, ok := r.header[http.CanonicalHeaderKey(name)]
	if !ok {
		t.Fatalf("%s missing (status %d)", name, r.code)
	}
	if len(got) != 1 || got[0] != want {
		t.Errorf("%s = %q, want %q", name, got, want)
	}
}

func noHeader(t *testing.T, r *resp, name string) {
	t.Helper()
	if v, ok := r.header[http.CanonicalHeaderKey(name)]; ok {
		t.Errorf("%s = %q, want absent", name, v)
	}
}

const middle = "/api/v4/personal_access_tokens?sort=name_asc&per_page=2&page=2"

func TestHeaderXTotal(t *testing.T) {
	e, tok := pageEnv(t)
	header(t, e.do(req{method: "GET", path: middle, token: tok}), "X-Total", "5")
	header(t, e.do(req{method: "GET", path: "/api/v4/personal_access_tokens?state=inactive", token: tok}), "X-Total", "0")
}

func TestHeaderXTotalPages(t *testing.T) {
	e, tok := pageEnv(t)
	header(t, e.do(req{method: "GET", path: middle, token: tok}), "X-Total-Pages", "3")
	// At least 1, even for an empty result.
	header(t, e.do(req{method: "GET", path: "/api/v4/personal_access_tokens?state=inactive", token: tok}), "X-Total-Pages", "1")
}

func TestHeaderXPage(t *testing.T) {
	e, tok := pageEnv(t)
	header(t, e.do(req{method: "GET", path: middle, token: tok}), "X-Page", "2")
	header(t, e.do(req{method: "GET", path: "/api/v4/personal_access_tokens?page=0", token: tok}), "X-Page", "1")
}

func TestHeaderXPerPage(t *testing.T) {
	e, tok := pageEnv(t)
	header(t, e.do(req{method: "GET", path: middle, token: tok}), "X-Per-Page", "2")
	header(t, e.do(req{method: "GET", path: "/api/v4/personal_access_tokens", token: tok}), "X-Per-Page", "20")
	header(t, e.do(req{method: "GET", path: "/api/v4/personal_access_tokens?per_page=500", token: tok}), "X-Per-Page", "100")
}

func TestHeaderXNextPage(t *testing.T) {
	e, tok := pageEnv(t)
	header(t, e.do(req{method: "GET", path: middle, token: tok}), "X-Next-Page", "3")
	header(t, e.do(req{method: "GET", path: "/api/v4/personal_access_tokens?per_page=2&page=3", token: tok}), "X-Next-Page", "")
}

func TestHeaderXPrevPage(t *testing.T) {
	e, tok := pageEnv(t)
	header(t, e.do(req{method: "GET", path: middle, token: tok}), "X-Prev-Page", "1")
	header(t, e.do(req{method: "GET", path: "/api/v4/personal_access_tokens?per_page=2", token: tok}), "X-Prev-Page", "")
	// Kaminari gives no previous page out of range.
	r := e.do(req{method: "GET", path: "/api/v4/personal_access_tokens?per_page=2&page=9", token: tok})
	header(t, r, "X-Prev-Page", "")
	header(t, r, "X-Next-Page", "")
	header(t, r, "X-Page", "9")
}

func TestHeaderLink(t *testing.T) {
	e, tok := pageEnv(t)
	const u = "https://gitlab.example.com/api/v4/personal_access_tokens?"
	header(t, e.do(req{method: "GET", path: middle + "&revoked=false", token: tok}), "Link",
		`<`+u+`page=1&per_page=2&revoked=false&sort=name_asc>; rel="prev", `+
			`<`+u+`page=3&per_page=2&revoked=false&sort=name_asc>; rel="next", `+
			`<`+u+`page=1&per_page=2&revoked=false&sort=name_asc>; rel="first", `+
			`<`+u+`page=3&per_page=2&revoked=false&sort=name_asc>; rel="last"`)
	// First page: no prev; defaults filled in.
	header(t, e.do(req{method: "GET", path: "/api/v4/personal_access_tokens", token: tok}), "Link",
		`<`+u+`page=1&per_page=20>; rel="first", <`+u+`page=1&per_page=20>; rel="last"`)
}

func TestHeaderLinkNestedRoute(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
	e.resourceToken(patkit.ResourceProject, "a", 30, patkit.ScopeAPI)
	e.resourceToken(patkit.ResourceProject, "b", 30, patkit.ScopeAPI)
	const u = "https://gitlab.example.com/api/v4/projects/acme%2Fwidgets/access_tokens?"
	header(t, e.do(req{method: "GET", path: "/api/v4/projects/acme%2Fwidgets/access_tokens?per_page=1&scopes[]=x", token: tok}), "Link",
		`<`+u+`id=acme%2Fwidgets&page=2&per_page=1&scopes%5B%5D=x>; rel="next", `+
			`<`+u+`id=acme%2Fwidgets&page=1&per_page=1&scopes%5B%5D=x>; rel="first", `+
			`<`+u+`id=acme%2Fwidgets&page=2&per_page=1&scopes%5B%5D=x>; rel="last"`)

	rootTok, _ := e.token(rootID, "root", patkit.ScopeAPI)
	e.impersonationToken(aliceID, "imp", patkit.ScopeAPI)
	const iu = "https://gitlab.example.com/api/v4/users/2/impersonation_tokens?"
	header(t, e.do(req{method: "GET", path: "/api/v4/users/2/impersonation_tokens", token: rootTok}), "Link",
		`<`+iu+`page=1&per_page=20&state=all&user_id=2>; rel="first", <`+iu+`page=1&per_page=20&state=all&user_id=2>; rel="last"`)
}

// TestHeaderLinkNeverFromHost checks that without Options.ExternalURL a
// Host header cannot point Link URLs elsewhere: clients follow them with
// their credentials. The links are relative then, unless the Host header
// names the very address the connection was accepted on.
func TestHeaderLinkNeverFromHost(t *testing.T) {
	e, tok := pageEnv(t, func(_ *patkit.Options, ho *httpapi.Options) { ho.ExternalURL = "" })
	const rel = "/api/v4/personal_access_tokens?"
	const want = `<` + rel + `page=1&per_page=5>; rel="first", <` + rel + `page=1&per_page=5>; rel="last"`

	r := httptest.NewRequest("GET", "http://evil.example:8080/api/v4/personal_access_tokens?per_page=5", nil)
	r.Header.Set("Private-Token", tok)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	if got := rec.Header().Get("Link"); got != want {
		t.Errorf("Link = %q, want %q", got, want)
	}

	srv := httptest.NewServer(e.h)
	t.Cleanup(srv.Close)
	addr := strings.TrimPrefix(srv.URL, "http://")
	_, port, _ := net.SplitHostPort(addr)
	for _, tt := range []struct{ host, base string }{
		{addr, srv.URL}, // the address connected to
		{"localhost:" + port, "http://localhost:" + port}, // a loopback listener
		{"evil.example", ""},
		{"evil.example:" + port, ""},
		{"127.0.0.2:" + port, ""},
		{"localhost:1", ""},
		{"", ""},
	} {
		req, err := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/api/v4/personal_access_tokens?per_page=5", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = tt.host
		req.Header.Set("Private-Token", tok)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		want := `<` + tt.base + rel + `page=1&per_page=5>; rel="first", <` + tt.base + rel + `page=1&per_page=5>; rel="last"`
		if tt.host == "" {
			want = `<` + srv.URL + rel + `page=1&per_page=5>; rel="first", <` + srv.URL + rel + `page=1&per_page=5>; rel="last"`
		}
		if got := res.Header.Get("Link"); got != want {
			t.Errorf("Host %q: Link = %q, want %q", tt.host, got, want)
		}
	}
}

// uncounted reports every list as too large to count.
type uncounted struct{ patkit.Store }

func (u uncounted) List(ctx context.Context, q *patkit.Query) ([]*patkit.Token, int, error) {
	toks, _, err := u.Store.List(ctx, q)
	return toks, -1, err
}

func TestHeadersWithoutTotal(t *testing.T) {
	e, tok := pageEnv(t)
	svc, err := patkit.New(uncounted{e.store}, e.dir, []byte("kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := conform(t, httpapi.New(svc, &httpapi.Options{ExternalURL: "https://gitlab.example.com"}))
	r := httptest.NewRequest("GET", "/api/v4/personal_access_tokens?per_page=2&page=2", nil)
	r.Header.Set("Private-Token", tok)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	got := &resp{code: rec.Code, header: rec.Header(), body: rec.Body.String()}
	noHeader(t, got, "X-Total")
	noHeader(t, got, "X-Total-Pages")
	header(t, got, "X-Next-Page", "3")
	header(t, got, "X-Prev-Page", "1")
	const u = "https://gitlab.example.com/api/v4/personal_access_tokens?"
	header(t, got, "Link", `<`+u+`page=1&per_page=2>; rel="prev", <`+u+`page=3&per_page=2>; rel="next", <`+u+`page=1&per_page=2>; rel="first"`)
}

// A page longer than net/http buffers before it chunks is sent with its
// Content-Length in one piece, as a short answer is: not chunked.
func TestLongPageContentLength(t *testing.T) {
	e, tok := pageEnv(t)
	for i := 6; i <= 40; i++ {
		e.token(aliceID, fmt.Sprint("token with a long name to make the page long ", i), patkit.ScopeAPI)
	}
	srv := httptest.NewServer(e.h)
	t.Cleanup(srv.Close)
	req, err := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/api/v4/personal_access_tokens?per_page=40", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Private-Token", tok)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if len(body) <= 4096 {
		t.Fatalf("the page is %d bytes; the test needs more than 4096", len(body))
	}
	if res.ContentLength != int64(len(body)) || len(res.TransferEncoding) > 0 {
		t.Errorf("Content-Length %d, Transfer-Encoding %q for a body of %d bytes; want the length, not chunked",
			res.ContentLength, res.TransferEncoding, len(body))
	}
}

package compat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/httpapi"
	"github.com/patkit/patkit/memstore"
)

// t0 is the start of every test's clock: 2026-03-10 12:00 UTC.
var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// clock is the time source shared by the Service and the handler.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// recorded is the last response the server wrote. client-go discards the
// body of a 404, so the tests read it here.
type recorded struct {
	status int
	header http.Header
	body   []byte
}

// env is one running instance: a Service on memstore with the demo
// directory, the handler on an httptest server, and a client-go client
// authenticated as root.
type env struct {
	t     *testing.T
	clock *clock
	svc   *patkit.Service
	dir   *patkit.MemDirectory
	srv   *httptest.Server
	// root is a client-go client authenticated with an administrator
	// token of user 1 (api, read_api, read_user, sudo, admin_mode).
	root       *gitlab.Client
	rootToken  *patkit.Token
	rootSecret string

	mu   sync.Mutex
	last recorded
}

func setup(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, clock: &clock{now: t0}}

	dir := new(patkit.MemDirectory)
	dir.AddUser(patkit.User{ID: 1, Username: "root", Name: "Administrator", Admin: true})
	dir.AddUser(patkit.User{ID: 2, Username: "alice", Name: "Alice"})
	dir.AddUser(patkit.User{ID: 3, Username: "bob", Name: "Bob"})
	dir.AddResource(patkit.Resource{Type: patkit.ResourceProject, ID: 1, FullPath: "acme/widgets", Public: true}) // visibility is not under test here
	dir.SetAccess(patkit.ResourceProject, 1, 2, patkit.Maintainer)
	dir.SetAccess(patkit.ResourceProject, 1, 3, patkit.Developer)
	dir.AddResource(patkit.Resource{Type: patkit.ResourceGroup, ID: 1, FullPath: "acme", Public: true})
	dir.SetAccess(patkit.ResourceGroup, 1, 2, patkit.Owner)
	dir.SetAccess(patkit.ResourceGroup, 1, 3, patkit.Reporter)
	e.dir = dir

	svc, err := patkit.New(memstore.New(), dir, []byte("compat-test-instance-key-0123456789"), &patkit.Options{Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc

	h := httpapi.New(svc, nil)
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		res := rec.Result()
		body, _ := io.ReadAll(res.Body)
		e.mu.Lock()
		e.last = recorded{status: res.StatusCode, header: res.Header.Clone(), body: body}
		e.mu.Unlock()
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		w.Write(body)
	}))
	t.Cleanup(e.srv.Close)

	ctx := context.Background()
	root, err := svc.Principal(ctx, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	tok, secret, err := svc.CreateToken(ctx, root, 1, patkit.TokenOptions{
		Name: "root",
		Scopes: []patkit.Scope{
			patkit.ScopeAPI, patkit.ScopeReadAPI, patkit.ScopeReadUser,
			patkit.ScopeSudo, patkit.ScopeAdminMode,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.rootToken, e.rootSecret = tok, secret
	e.root = e.client(secret)
	return e
}

// client returns a client-go client authenticated with secret
// (PRIVATE-TOKEN header), without retries.
func (e *env) client(secret string) *gitlab.Client {
	e.t.Helper()
	c, err := gitlab.NewClient(secret, gitlab.WithBaseURL(e.srv.URL+"/api/v4"), gitlab.WithoutRetries())
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) lastResponse() recorded {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.last
}

// today returns the clock's date as client-go's ISOTime.
func (e *env) today() time.Time {
	y, m, d := e.clock.Now().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// pat creates a personal access token for user as root, through client-go,
// and returns it with a client authenticated by it.
func (e *env) pat(user int64, name string, scopes ...string) (*gitlab.PersonalAccessToken, *gitlab.Client) {
	e.t.Helper()
	tok, _, err := e.root.Users.CreatePersonalAccessToken(user, &gitlab.CreatePersonalAccessTokenOptions{
		Name:   new(name),
		Scopes: &scopes,
	})
	if err != nil {
		e.t.Fatalf("create token %q for user %d: %v", name, user, err)
	}
	return tok, e.client(tok.Token)
}

// ---------------------------------------------------------------------------
// Assertions

func isoDate(s string) *gitlab.ISOTime {
	t, err := gitlab.ParseISOTime(s)
	if err != nil {
		panic(err)
	}
	return &t
}

func date(t time.Time) string { return t.Format(time.DateOnly) }

func isoString(t *gitlab.ISOTime) string {
	if t == nil {
		return "<nil>"
	}
	return t.String()
}

func ok(t *testing.T, what string, resp *gitlab.Response, err error, status int) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if resp.StatusCode != status {
		t.Fatalf("%s: status %d, want %d", what, resp.StatusCode, status)
	}
}

// apiError asserts that err is client-go's *gitlab.ErrorResponse with
// status and, when body is not empty, a JSON body equal to body.
func apiError(t *testing.T, what string, err error, status int, body string) *gitlab.ErrorResponse {
	t.Helper()
	var er *gitlab.ErrorResponse
	if !errors.As(err, &er) {
		t.Fatalf("%s: err = %v (%T), want *gitlab.ErrorResponse with status %d", what, err, err, status)
	}
	if er.Response.StatusCode != status {
		t.Fatalf("%s: status %d (body %s), want %d", what, er.Response.StatusCode, er.Body, status)
	}
	if body != "" {
		jsonEqual(t, what, er.Body, body)
	}
	return er
}

// notFound asserts client-go's 404 sentinel, gitlab.ErrNotFound, and the
// body the server sent with it.
func (e *env) notFound(what string, resp *gitlab.Response, err error, body string) {
	e.t.Helper()
	if !errors.Is(err, gitlab.ErrNotFound) {
		e.t.Fatalf("%s: err = %v (%T), want gitlab.ErrNotFound", what, err, err)
	}
	if resp == nil || resp.StatusCode != http.StatusNotFound {
		e.t.Fatalf("%s: response %v, want status 404", what, resp)
	}
	jsonEqual(e.t, what, e.lastResponse().body, body)
}

func jsonEqual(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: body %q is not JSON: %v", what, got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: bad expectation %q: %v", what, want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s: body %s, want %s", what, bytes.TrimSpace(got), want)
	}
}

func patNames(toks []*gitlab.PersonalAccessToken) []string {
	var out []string
	for _, t := range toks {
		out = append(out, t.Name)
	}
	return out
}

func pagination(resp *gitlab.Response) [6]int64 {
	return [6]int64{resp.TotalItems, resp.TotalPages, resp.ItemsPerPage, resp.CurrentPage, resp.NextPage, resp.PreviousPage}
}

// checkLink asserts that a Link URL is on the test server at path and
// carries exactly the query parameters q.
func (e *env) checkLink(what, link, path string, q url.Values) {
	e.t.Helper()
	if link == "" && q == nil {
		return
	}
	u, err := url.Parse(link)
	if err != nil {
		e.t.Fatalf("%s: link %q: %v", what, link, err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != e.srv.URL+path {
		e.t.Errorf("%s: link %q, want %s%s", what, link, e.srv.URL, path)
	}
	if !reflect.DeepEqual(u.Query(), q) {
		e.t.Errorf("%s: link %q query %v, want %v", what, link, u.Query(), q)
	}
}

// revokedBody and friends are GitLab's token-failure bodies.
const (
	unauthorizedBody = `{"message":"401 Unauthorized"}`
	revokedBody      = `{"error":"invalid_token","error_description":"Token was revoked. You have to re-authorize from the user."}`
	expiredBody      = `{"error":"invalid_token","error_description":"Token is expired. You can either do re-authorization or token refresh."}`
)

// ---------------------------------------------------------------------------
// Users: personal access tokens

// Users.CreatePersonalAccessToken (POST /users/:user_id/personal_access_tokens)
// and the decoded PersonalAccessTokenWithToken entity.
func TestUsersCreatePersonalAccessToken(t *testing.T) {
	e := setup(t)

	tok, resp, err := e.root.Users.CreatePersonalAccessToken(2, &gitlab.CreatePersonalAccessTokenOptions{
		Name:        new("ci"),
		Description: new("deploys widgets"),
		Scopes:      &[]string{"api", "read_user"},
		ExpiresAt:   isoDate("2026-04-01"),
	})
	ok(t, "create", resp, err, http.StatusCreated)
	if tok.ID == 0 || tok.Name != "ci" || tok.Description != "deploys widgets" || tok.UserID != 2 ||
		!slices.Equal(tok.Scopes, []string{"api", "read_user"}) || !tok.Active || tok.Revoked {
		t.Errorf("created token %+v", tok)
	}
	if tok.CreatedAt == nil || !tok.CreatedAt.Equal(t0) || tok.CreatedAt.Location() != time.UTC {
		t.Errorf("created_at = %v, want %v UTC", tok.CreatedAt, t0)
	}
	if tok.LastUsedAt != nil {
		t.Errorf("last_used_at = %v, want nil", tok.LastUsedAt)
	}
	if isoString(tok.ExpiresAt) != "2026-04-01" {
		t.Errorf("expires_at = %s, want 2026-04-01", isoString(tok.ExpiresAt))
	}
	if !strings.HasPrefix(tok.Token, "glpat-") {
		t.Errorf("token = %q, want a glpat- secret", tok.Token)
	}

	// The new secret authenticates alice.
	self, resp, err := e.client(tok.Token).PersonalAccessTokens.GetSinglePersonalAccessToken()
	ok(t, "get self with the new secret", resp, err, http.StatusOK)
	if self.ID != tok.ID || self.UserID != 2 || self.Token != "" {
		t.Errorf("self = %+v", self)
	}

	// No expires_at: today + 365 days (expiry required by default).
	tok, resp, err = e.root.Users.CreatePersonalAccessToken(3, &gitlab.CreatePersonalAccessTokenOptions{
		Name:   new("default expiry"),
		Scopes: &[]string{"read_api"},
	})
	ok(t, "create without expiry", resp, err, http.StatusCreated)
	if got, want := isoString(tok.ExpiresAt), date(e.today().AddDate(0, 0, 365)); got != want {
		t.Errorf("default expires_at = %s, want %s", got, want)
	}
	if tok.Description != "" {
		t.Errorf("description = %q, want empty (null)", tok.Description)
	}

	// Errors.
	_, _, err = e.root.Users.CreatePersonalAccessToken(2, &gitlab.CreatePersonalAccessTokenOptions{
		Name: new("no scopes"),
	})
	apiError(t, "create without scopes", err, http.StatusBadRequest, `{"error":"scopes is missing"}`)

	_, _, err = e.root.Users.CreatePersonalAccessToken(2, &gitlab.CreatePersonalAccessTokenOptions{
		Name:      new("too long"),
		Scopes:    &[]string{"api"},
		ExpiresAt: isoDate(date(e.today().AddDate(0, 0, 366))),
	})
	apiError(t, "create beyond the maximum lifetime", err, http.StatusUnprocessableEntity,
		`{"message":"Expiration date must be before `+date(e.today().AddDate(0, 0, 365))+`"}`)

	_, resp, err = e.root.Users.CreatePersonalAccessToken(99, &gitlab.CreatePersonalAccessTokenOptions{
		Name: new("ghost"), Scopes: &[]string{"api"},
	})
	e.notFound("create for a missing user", resp, err, `{"message":"404 User Not Found"}`)

	_, alice := e.pat(2, "alice api", "api")
	_, _, err = alice.Users.CreatePersonalAccessToken(3, &gitlab.CreatePersonalAccessTokenOptions{
		Name: new("for bob"), Scopes: &[]string{"api"},
	})
	apiError(t, "non-admin creates for another user", err, http.StatusForbidden, `{"message":"403 Forbidden"}`)
}

// Users.CreatePersonalAccessTokenForCurrentUser (POST /user/personal_access_tokens),
// also under Sudo.
func TestUsersCreatePersonalAccessTokenForCurrentUser(t *testing.T) {
	e := setup(t)
	_, alice := e.pat(2, "alice api", "api")

	tok, resp, err := alice.Users.CreatePersonalAccessTokenForCurrentUser(&gitlab.CreatePersonalAccessTokenForCurrentUserOptions{
		Name:        new("kube"),
		Description: new("agent"),
		Scopes:      &[]string{"k8s_proxy"},
		ExpiresAt:   isoDate("2026-05-01"),
	})
	ok(t, "create own", resp, err, http.StatusCreated)
	if tok.UserID != 2 || tok.Name != "kube" || tok.Description != "agent" ||
		!slices.Equal(tok.Scopes, []string{"k8s_proxy"}) || isoString(tok.ExpiresAt) != "2026-05-01" ||
		!tok.Active || tok.Revoked || !strings.HasPrefix(tok.Token, "glpat-") {
		t.Errorf("own token %+v", tok)
	}

	_, _, err = alice.Users.CreatePersonalAccessTokenForCurrentUser(&gitlab.CreatePersonalAccessTokenForCurrentUserOptions{
		Name:   new("too wide"),
		Scopes: &[]string{"api"},
	})
	apiError(t, "create own with api", err, http.StatusBadRequest, `{"error":"scopes does not have a valid value"}`)

	// Root acting as bob through the Sudo header.
	tok, resp, err = e.root.Users.CreatePersonalAccessTokenForCurrentUser(&gitlab.CreatePersonalAccessTokenForCurrentUserOptions{
		Name:   new("rotator"),
		Scopes: &[]string{"self_rotate"},
	}, gitlab.WithSudo("bob"))
	ok(t, "create own under sudo", resp, err, http.StatusCreated)
	if tok.UserID != 3 || !slices.Equal(tok.Scopes, []string{"self_rotate"}) {
		t.Errorf("sudo token %+v", tok)
	}
	if got, want := isoString(tok.ExpiresAt), date(e.today().AddDate(0, 0, 365)); got != want {
		t.Errorf("default expires_at = %s, want %s", got, want)
	}

	// A read_api token cannot POST: insufficient_scope.
	_, reader := e.pat(2, "reader", "read_api")
	_, _, err = reader.Users.CreatePersonalAccessTokenForCurrentUser(&gitlab.CreatePersonalAccessTokenForCurrentUserOptions{
		Name: new("x"), Scopes: &[]string{"k8s_proxy"},
	})
	apiError(t, "create own with read_api", err, http.StatusForbidden,
		`{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"read_user api read_api"}`)
}

// ---------------------------------------------------------------------------
// Personal access tokens

// PersonalAccessTokens.GetSinglePersonalAccessTokenByID and
// GetSinglePersonalAccessToken (self).
func TestPersonalAccessTokensGet(t *testing.T) {
	e := setup(t)
	created, alice := e.pat(2, "alice", "read_api")
	_, bob := e.pat(3, "bob", "api")

	e.clock.Add(time.Hour)
	self, resp, err := alice.PersonalAccessTokens.GetSinglePersonalAccessToken()
	ok(t, "get self", resp, err, http.StatusOK)
	if self.ID != created.ID || self.Name != "alice" || self.UserID != 2 || self.Token != "" ||
		!slices.Equal(self.Scopes, []string{"read_api"}) || !self.Active || self.Revoked {
		t.Errorf("self = %+v", self)
	}
	if self.CreatedAt == nil || !self.CreatedAt.Equal(t0) {
		t.Errorf("self created_at = %v, want %v", self.CreatedAt, t0)
	}
	if self.LastUsedAt == nil || !self.LastUsedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("self last_used_at = %v, want %v (this request)", self.LastUsedAt, t0.Add(time.Hour))
	}

	for _, c := range []struct {
		name   string
		client *gitlab.Client
	}{{"owner", alice}, {"admin", e.root}} {
		got, resp, err := c.client.PersonalAccessTokens.GetSinglePersonalAccessTokenByID(created.ID)
		ok(t, "get by ID as "+c.name, resp, err, http.StatusOK)
		if got.ID != created.ID || got.Name != "alice" || got.UserID != 2 || got.Token != "" ||
			!got.Active || got.Revoked || isoString(got.ExpiresAt) != isoString(created.ExpiresAt) {
			t.Errorf("get by ID as %s = %+v", c.name, got)
		}
		if got.LastUsedAt == nil || !got.LastUsedAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("get by ID as %s: last_used_at = %v, want %v", c.name, got.LastUsedAt, t0.Add(time.Hour))
		}
	}

	_, _, err = bob.PersonalAccessTokens.GetSinglePersonalAccessTokenByID(created.ID)
	apiError(t, "bob reads alice's token", err, http.StatusUnauthorized, unauthorizedBody)

	_, resp, err = e.root.PersonalAccessTokens.GetSinglePersonalAccessTokenByID(9999)
	e.notFound("admin reads a missing token", resp, err, `{"message":"404 Not Found"}`)

	// The OAuth-style Bearer header works for a personal access token too.
	secret := created.Token
	oauth, err := gitlab.NewOAuthClient(secret, gitlab.WithBaseURL(e.srv.URL+"/api/v4"), gitlab.WithoutRetries())
	if err != nil {
		t.Fatal(err)
	}
	self, resp, err = oauth.PersonalAccessTokens.GetSinglePersonalAccessToken()
	ok(t, "get self with Authorization: Bearer", resp, err, http.StatusOK)
	if self.ID != created.ID {
		t.Errorf("bearer self = %+v", self)
	}

	// Unknown and expired secrets.
	_, _, err = e.client("glpat-not-a-real-token").PersonalAccessTokens.GetSinglePersonalAccessToken()
	apiError(t, "unknown secret", err, http.StatusUnauthorized, unauthorizedBody)

	short, _, err := e.root.Users.CreatePersonalAccessToken(3, &gitlab.CreatePersonalAccessTokenOptions{
		Name: new("short"), Scopes: &[]string{"api"}, ExpiresAt: isoDate(date(e.today().AddDate(0, 0, 1))),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(24 * time.Hour)
	_, _, err = e.client(short.Token).PersonalAccessTokens.GetSinglePersonalAccessToken()
	er := apiError(t, "expired secret", err, http.StatusUnauthorized, expiredBody)
	if got := er.Response.Header.Get("WWW-Authenticate"); !strings.Contains(got, `error="invalid_token"`) {
		t.Errorf("expired: WWW-Authenticate = %q", got)
	}
	got, resp, err := e.root.PersonalAccessTokens.GetSinglePersonalAccessTokenByID(short.ID)
	ok(t, "get expired token by ID", resp, err, http.StatusOK)
	if got.Active || got.Revoked {
		t.Errorf("expired token: active %v revoked %v, want false false", got.Active, got.Revoked)
	}
}

// PersonalAccessTokens.ListPersonalAccessTokens: pagination headers as
// client-go parses them, its Link-driven iteration, and visibility.
func TestPersonalAccessTokensListPagination(t *testing.T) {
	e := setup(t)
	var ids []int64
	for _, name := range []string{"t1", "t2", "t3", "t4", "t5"} {
		tok, _ := e.pat(2, name, "read_api")
		ids = append(ids, tok.ID)
	}
	_, bob := e.pat(3, "bob", "read_api")
	_, alice := e.pat(2, "alice", "read_api")
	// alice now has 6 tokens; root has 1, bob 1.

	opt := &gitlab.ListPersonalAccessTokensOptions{
		ListOptions: gitlab.ListOptions{PerPage: 2, Page: 1},
		UserID:      new(int64(2)),
	}
	toks, resp, err := e.root.PersonalAccessTokens.ListPersonalAccessTokens(opt)
	ok(t, "list page 1", resp, err, http.StatusOK)
	if got := patNames(toks); !slices.Equal(got, []string{"t1", "t2"}) {
		t.Errorf("page 1 = %v", got)
	}
	if got, want := pagination(resp), [6]int64{6, 3, 2, 1, 2, 0}; got != want {
		t.Errorf("page 1 total/pages/per_page/page/next/prev = %v, want %v", got, want)
	}
	path := "/api/v4/personal_access_tokens"
	q := func(page string) url.Values {
		return url.Values{"page": {page}, "per_page": {"2"}, "user_id": {"2"}}
	}
	e.checkLink("page 1 next", resp.NextLink, path, q("2"))
	e.checkLink("page 1 first", resp.FirstLink, path, q("1"))
	e.checkLink("page 1 last", resp.LastLink, path, q("3"))
	if resp.PreviousLink != "" {
		t.Errorf("page 1 prev link = %q, want none", resp.PreviousLink)
	}
	for _, tok := range toks {
		if tok.Token != "" {
			t.Errorf("list exposes the secret of %d", tok.ID)
		}
	}

	opt.Page = 2
	toks, resp, err = e.root.PersonalAccessTokens.ListPersonalAccessTokens(opt)
	ok(t, "list page 2", resp, err, http.StatusOK)
	if got, want := pagination(resp), [6]int64{6, 3, 2, 2, 3, 1}; got != want {
		t.Errorf("page 2 total/pages/per_page/page/next/prev = %v, want %v", got, want)
	}
	e.checkLink("page 2 prev", resp.PreviousLink, path, q("1"))
	if got := patNames(toks); !slices.Equal(got, []string{"t3", "t4"}) {
		t.Errorf("page 2 = %v", got)
	}

	opt.Page = 3
	toks, resp, err = e.root.PersonalAccessTokens.ListPersonalAccessTokens(opt)
	ok(t, "list page 3", resp, err, http.StatusOK)
	if got, want := pagination(resp), [6]int64{6, 3, 2, 3, 0, 2}; got != want {
		t.Errorf("page 3 total/pages/per_page/page/next/prev = %v, want %v", got, want)
	}
	if resp.NextLink != "" {
		t.Errorf("page 3 next link = %q, want none", resp.NextLink)
	}
	if got := patNames(toks); !slices.Equal(got, []string{"t5", "alice"}) {
		t.Errorf("page 3 = %v", got)
	}

	// Beyond the last page: empty, no next.
	opt.Page = 4
	toks, resp, err = e.root.PersonalAccessTokens.ListPersonalAccessTokens(opt)
	ok(t, "list page 4", resp, err, http.StatusOK)
	if len(toks) != 0 || resp.NextPage != 0 || resp.TotalPages != 3 || resp.CurrentPage != 4 {
		t.Errorf("page 4: %d tokens, pagination %v", len(toks), pagination(resp))
	}

	// client-go's iterator follows the Link header to the end.
	all, err := gitlab.ScanAndCollect(func(p gitlab.PaginationOptionFunc) ([]*gitlab.PersonalAccessToken, *gitlab.Response, error) {
		return e.root.PersonalAccessTokens.ListPersonalAccessTokens(&gitlab.ListPersonalAccessTokensOptions{
			ListOptions: gitlab.ListOptions{PerPage: 2},
		}, p)
	})
	if err != nil {
		t.Fatalf("scan all: %v", err)
	}
	if got, want := patNames(all), []string{"root", "t1", "t2", "t3", "t4", "t5", "bob", "alice"}; !slices.Equal(got, want) {
		t.Errorf("admin scan = %v, want %v", got, want)
	}

	// per_page above 100 is capped; one page, no next.
	_, resp, err = e.root.PersonalAccessTokens.ListPersonalAccessTokens(&gitlab.ListPersonalAccessTokensOptions{
		ListOptions: gitlab.ListOptions{PerPage: 500},
	})
	ok(t, "list per_page=500", resp, err, http.StatusOK)
	if got, want := pagination(resp), [6]int64{8, 1, 100, 1, 0, 0}; got != want {
		t.Errorf("per_page=500 pagination %v, want %v", got, want)
	}

	// Non-admins see their own tokens only; naming another user is 401.
	toks, resp, err = bob.PersonalAccessTokens.ListPersonalAccessTokens(nil)
	ok(t, "bob lists", resp, err, http.StatusOK)
	if got := patNames(toks); !slices.Equal(got, []string{"bob"}) || resp.TotalItems != 1 || resp.TotalPages != 1 {
		t.Errorf("bob sees %v (total %d)", got, resp.TotalItems)
	}
	_, _, err = alice.PersonalAccessTokens.ListPersonalAccessTokens(&gitlab.ListPersonalAccessTokensOptions{UserID: new(int64(3))})
	apiError(t, "alice lists bob's tokens", err, http.StatusUnauthorized, unauthorizedBody)

	_, resp, err = e.root.PersonalAccessTokens.ListPersonalAccessTokens(&gitlab.ListPersonalAccessTokensOptions{UserID: new(int64(99))})
	e.notFound("admin lists a missing user's tokens", resp, err, `{"message":"404 Not Found"}`)

	// Root acting as alice (Sudo by numeric ID) sees alice's tokens only.
	toks, resp, err = e.root.PersonalAccessTokens.ListPersonalAccessTokens(nil, gitlab.WithSudo(2))
	ok(t, "list under sudo", resp, err, http.StatusOK)
	if got := patNames(toks); resp.TotalItems != 6 || !slices.Equal(got, []string{"t1", "t2", "t3", "t4", "t5", "alice"}) {
		t.Errorf("sudo alice sees %v (total %d)", got, resp.TotalItems)
	}

	// An empty result still reports one page.
	toks, resp, err = e.root.PersonalAccessTokens.ListPersonalAccessTokens(&gitlab.ListPersonalAccessTokensOptions{Search: new("nothing matches this")})
	ok(t, "empty list", resp, err, http.StatusOK)
	if len(toks) != 0 || resp.TotalItems != 0 || resp.TotalPages != 1 || resp.NextPage != 0 {
		t.Errorf("empty list: %d tokens, pagination %v", len(toks), pagination(resp))
	}
}

// Behind a reverse proxy without httpapi.Options.ExternalURL, the Host
// header names the proxy, which httpapi cannot verify: Link URLs are then
// relative, and client-go's iteration, which reads only their query, still
// pages to the end.
func TestPaginationWithoutExternalURLBehindAProxyName(t *testing.T) {
	e := setup(t)
	for _, name := range []string{"t1", "t2", "t3", "t4"} {
		e.pat(2, name, "read_api")
	}
	addr := e.srv.Listener.Addr().String()
	proxied := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	c, err := gitlab.NewClient(e.rootSecret, gitlab.WithBaseURL("http://tokens.example.test/api/v4"),
		gitlab.WithHTTPClient(proxied), gitlab.WithoutRetries())
	if err != nil {
		t.Fatal(err)
	}
	opt := &gitlab.ListPersonalAccessTokensOptions{ListOptions: gitlab.ListOptions{PerPage: 2}}
	_, resp, err := c.PersonalAccessTokens.ListPersonalAccessTokens(opt)
	ok(t, "list page 1", resp, err, http.StatusOK)
	if want := "/api/v4/personal_access_tokens?page=2&per_page=2"; resp.NextLink != want {
		t.Errorf("next link = %q, want %q", resp.NextLink, want)
	}
	all, err := gitlab.ScanAndCollect(func(p gitlab.PaginationOptionFunc) ([]*gitlab.PersonalAccessToken, *gitlab.Response, error) {
		return c.PersonalAccessTokens.ListPersonalAccessTokens(opt, p)
	})
	if err != nil {
		t.Fatalf("scan all: %v", err)
	}
	if got, want := patNames(all), []string{"root", "t1", "t2", "t3", "t4"}; !slices.Equal(got, want) {
		t.Errorf("scan = %v, want %v", got, want)
	}
}

// ListPersonalAccessTokensOptions: every filter and sort client-go sends.
func TestPersonalAccessTokensListFilters(t *testing.T) {
	e := setup(t)
	create := func(name, expires string) *gitlab.PersonalAccessToken {
		tok, _, err := e.root.Users.CreatePersonalAccessToken(2, &gitlab.CreatePersonalAccessTokenOptions{
			Name: new(name), Scopes: &[]string{"api"}, ExpiresAt: isoDate(expires),
		})
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		e.clock.Add(24 * time.Hour)
		return tok
	}
	create("alpha deploy", "2026-04-01") // created 2026-03-10 12:00
	beta := create("beta deploy", "2026-05-01")
	gamma := create("gamma build", "2026-06-01") // created 2026-03-12 12:00
	// 2026-03-13: beta is used, gamma revoked.
	if _, _, err := e.client(beta.Token).PersonalAccessTokens.GetSinglePersonalAccessToken(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.root.PersonalAccessTokens.RevokePersonalAccessTokenByID(gamma.ID); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name string
		opt  gitlab.ListPersonalAccessTokensOptions
		want []string
	}{
		{"all", gitlab.ListPersonalAccessTokensOptions{}, []string{"alpha deploy", "beta deploy", "gamma build"}},
		{"search", gitlab.ListPersonalAccessTokensOptions{Search: new("DEPLOY")}, []string{"alpha deploy", "beta deploy"}},
		{"search two words", gitlab.ListPersonalAccessTokensOptions{Search: new("deploy bet")}, []string{"beta deploy"}},
		{"sort name_desc", gitlab.ListPersonalAccessTokensOptions{Sort: new("name_desc")}, []string{"gamma build", "beta deploy", "alpha deploy"}},
		{"sort created_desc", gitlab.ListPersonalAccessTokensOptions{Sort: new("created_desc")}, []string{"gamma build", "beta deploy", "alpha deploy"}},
		{"sort expires_desc", gitlab.ListPersonalAccessTokensOptions{Sort: new("expires_desc")}, []string{"gamma build", "beta deploy", "alpha deploy"}},
		{"sort unknown ignored", gitlab.ListPersonalAccessTokensOptions{Sort: new("bogus")}, []string{"alpha deploy", "beta deploy", "gamma build"}},
		{"created_after", gitlab.ListPersonalAccessTokensOptions{CreatedAfter: isoDate("2026-03-11")}, []string{"beta deploy", "gamma build"}},
		{"created_before", gitlab.ListPersonalAccessTokensOptions{CreatedBefore: isoDate("2026-03-11")}, []string{"alpha deploy"}},
		{"expires_before (strict)", gitlab.ListPersonalAccessTokensOptions{ExpiresBefore: isoDate("2026-05-01")}, []string{"alpha deploy"}},
		{"expires_after (inclusive)", gitlab.ListPersonalAccessTokensOptions{ExpiresAfter: isoDate("2026-05-01")}, []string{"beta deploy", "gamma build"}},
		{"last_used_after", gitlab.ListPersonalAccessTokensOptions{LastUsedAfter: isoDate("2026-03-13")}, []string{"beta deploy"}},
		{"last_used_before", gitlab.ListPersonalAccessTokensOptions{LastUsedBefore: isoDate("2026-03-14")}, []string{"beta deploy"}},
		{"last_used_before excludes", gitlab.ListPersonalAccessTokensOptions{LastUsedBefore: isoDate("2026-03-13")}, nil},
		{"revoked=true", gitlab.ListPersonalAccessTokensOptions{Revoked: new(true)}, []string{"gamma build"}},
		{"revoked=false", gitlab.ListPersonalAccessTokensOptions{Revoked: new(false)}, []string{"alpha deploy", "beta deploy"}},
		{"state=active", gitlab.ListPersonalAccessTokensOptions{State: new("active")}, []string{"alpha deploy", "beta deploy"}},
		{"state=inactive", gitlab.ListPersonalAccessTokensOptions{State: new("inactive")}, []string{"gamma build"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			opt := c.opt
			opt.UserID = new(int64(2))
			toks, resp, err := e.root.PersonalAccessTokens.ListPersonalAccessTokens(&opt)
			ok(t, c.name, resp, err, http.StatusOK)
			if got := patNames(toks); !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
			if resp.TotalItems != int64(len(c.want)) {
				t.Errorf("X-Total = %d, want %d", resp.TotalItems, len(c.want))
			}
		})
	}

	// Decoded fields of a listed revoked token.
	toks, _, err := e.root.PersonalAccessTokens.ListPersonalAccessTokens(&gitlab.ListPersonalAccessTokensOptions{
		UserID: new(int64(2)), Revoked: new(true),
	})
	if err != nil || len(toks) != 1 {
		t.Fatalf("list revoked: %v, %d tokens", err, len(toks))
	}
	if g := toks[0]; !g.Revoked || g.Active || isoString(g.ExpiresAt) != "2026-06-01" || g.Token != "" ||
		g.CreatedAt == nil || !g.CreatedAt.Equal(t0.Add(48*time.Hour)) {
		t.Errorf("revoked token = %+v", g)
	}

	_, _, err = e.root.PersonalAccessTokens.ListPersonalAccessTokens(&gitlab.ListPersonalAccessTokensOptions{State: new("expired")})
	apiError(t, "state=expired", err, http.StatusBadRequest, `{"error":"state does not have a valid value"}`)
}

// PersonalAccessTokens.RotatePersonalAccessTokenByID and its deprecated
// alias RotatePersonalAccessToken.
func TestPersonalAccessTokensRotateByID(t *testing.T) {
	e := setup(t)
	created, _, err := e.root.Users.CreatePersonalAccessToken(2, &gitlab.CreatePersonalAccessTokenOptions{
		Name: new("ci"), Description: new("d"), Scopes: &[]string{"api", "read_repository"}, ExpiresAt: isoDate("2026-04-01"),
	})
	if err != nil {
		t.Fatal(err)
	}
	alice := e.client(created.Token)
	_, other := e.pat(2, "other", "api")

	e.clock.Add(time.Minute)
	rotated, resp, err := other.PersonalAccessTokens.RotatePersonalAccessTokenByID(created.ID, &gitlab.RotatePersonalAccessTokenOptions{
		ExpiresAt: isoDate("2026-05-01"),
	})
	ok(t, "owner rotates by ID", resp, err, http.StatusOK)
	if rotated.ID == created.ID || rotated.Name != "ci" || rotated.Description != "d" || rotated.UserID != 2 ||
		!slices.Equal(rotated.Scopes, []string{"api", "read_repository"}) || !rotated.Active || rotated.Revoked ||
		isoString(rotated.ExpiresAt) != "2026-05-01" || rotated.LastUsedAt != nil ||
		!strings.HasPrefix(rotated.Token, "glpat-") || rotated.Token == created.Token {
		t.Errorf("rotated = %+v", rotated)
	}
	if rotated.CreatedAt == nil || !rotated.CreatedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("rotated created_at = %v, want %v", rotated.CreatedAt, t0.Add(time.Minute))
	}

	// The old secret is revoked, the new one works.
	_, _, err = alice.PersonalAccessTokens.GetSinglePersonalAccessToken()
	apiError(t, "old secret after rotation", err, http.StatusUnauthorized, revokedBody)
	old, _, err := e.root.PersonalAccessTokens.GetSinglePersonalAccessTokenByID(created.ID)
	if err != nil || !old.Revoked || old.Active {
		t.Errorf("old token after rotation: %+v, %v", old, err)
	}
	if _, _, err := e.client(rotated.Token).PersonalAccessTokens.GetSinglePersonalAccessToken(); err != nil {
		t.Errorf("new secret: %v", err)
	}

	// Deprecated alias, by an admin, without expires_at: today + 7 days.
	again, resp, err := e.root.PersonalAccessTokens.RotatePersonalAccessToken(rotated.ID, nil)
	ok(t, "admin rotates (deprecated alias, no options)", resp, err, http.StatusOK)
	if got, want := isoString(again.ExpiresAt), date(e.today().AddDate(0, 0, 7)); got != want {
		t.Errorf("default rotation expires_at = %s, want %s", got, want)
	}

	_, _, err = e.root.PersonalAccessTokens.RotatePersonalAccessTokenByID(rotated.ID, nil)
	apiError(t, "rotate a revoked token", err, http.StatusBadRequest, `{"message":"400 Bad request - Token already revoked"}`)

	_, _, err = e.root.PersonalAccessTokens.RotatePersonalAccessTokenByID(again.ID, &gitlab.RotatePersonalAccessTokenOptions{
		ExpiresAt: isoDate(date(e.today().AddDate(0, 0, 366))),
	})
	apiError(t, "rotate beyond the maximum lifetime", err, http.StatusBadRequest,
		`{"message":"400 Bad request - Expiration date must be before `+date(e.today().AddDate(0, 0, 365))+`"}`)

	_, bob := e.pat(3, "bob", "api")
	_, _, err = bob.PersonalAccessTokens.RotatePersonalAccessTokenByID(again.ID, nil)
	apiError(t, "bob rotates alice's token", err, http.StatusUnauthorized, unauthorizedBody)

	_, resp, err = e.root.PersonalAccessTokens.RotatePersonalAccessTokenByID(9999, nil)
	e.notFound("admin rotates a missing token", resp, err, `{"message":"404 Not Found"}`)
}

// PersonalAccessTokens.RotatePersonalAccessTokenSelf, and reuse detection:
// a replaced secret presented on a rotate route revokes its descendants.
func TestPersonalAccessTokensRotateSelf(t *testing.T) {
	e := setup(t)
	first, alice := e.pat(2, "self", "self_rotate")

	second, resp, err := alice.PersonalAccessTokens.RotatePersonalAccessTokenSelf(&gitlab.RotatePersonalAccessTokenOptions{
		ExpiresAt: isoDate("2026-04-15"),
	})
	ok(t, "rotate self", resp, err, http.StatusOK)
	if second.ID == first.ID || second.Name != "self" || second.UserID != 2 || !second.Active ||
		!slices.Equal(second.Scopes, []string{"self_rotate"}) || isoString(second.ExpiresAt) != "2026-04-15" ||
		!strings.HasPrefix(second.Token, "glpat-") {
		t.Errorf("rotated self = %+v", second)
	}

	third, resp, err := e.client(second.Token).PersonalAccessTokens.RotatePersonalAccessTokenSelf(nil)
	ok(t, "rotate self again, no options", resp, err, http.StatusOK)
	if got, want := isoString(third.ExpiresAt), date(e.today().AddDate(0, 0, 7)); got != want {
		t.Errorf("default self-rotation expires_at = %s, want %s", got, want)
	}

	// Reusing the first secret on a rotate route: 401, and the live
	// descendant (third) is revoked.
	_, _, err = alice.PersonalAccessTokens.RotatePersonalAccessTokenSelf(nil)
	apiError(t, "rotate self with a replaced secret", err, http.StatusUnauthorized, revokedBody)
	got, _, err := e.root.PersonalAccessTokens.GetSinglePersonalAccessTokenByID(third.ID)
	if err != nil || !got.Revoked {
		t.Errorf("descendant after reuse: %+v, %v; want revoked", got, err)
	}

	// A read_api token lacks api/self_rotate.
	_, reader := e.pat(2, "reader", "read_api")
	_, _, err = reader.PersonalAccessTokens.RotatePersonalAccessTokenSelf(nil)
	er := apiError(t, "rotate self with read_api", err, http.StatusForbidden, "")
	var body map[string]any
	if err := json.Unmarshal(er.Body, &body); err != nil || body["error"] != "insufficient_scope" {
		t.Errorf("rotate self with read_api: body %s", er.Body)
	}
}

// PersonalAccessTokens.RevokePersonalAccessTokenByID, the deprecated
// RevokePersonalAccessToken, and RevokePersonalAccessTokenSelf.
func TestPersonalAccessTokensRevoke(t *testing.T) {
	e := setup(t)
	a1, alice := e.pat(2, "a1", "api")
	a2, _ := e.pat(2, "a2", "api")
	a3, a3c := e.pat(2, "a3", "read_repository")
	b1, bob := e.pat(3, "b1", "api")

	resp, err := alice.PersonalAccessTokens.RevokePersonalAccessTokenByID(a2.ID)
	ok(t, "owner revokes by ID", resp, err, http.StatusNoContent)
	if body := e.lastResponse().body; len(body) != 0 {
		t.Errorf("revoke body = %q, want empty", body)
	}
	got, _, err := e.root.PersonalAccessTokens.GetSinglePersonalAccessTokenByID(a2.ID)
	if err != nil || !got.Revoked || got.Active {
		t.Errorf("after revoke: %+v, %v", got, err)
	}

	resp, err = alice.PersonalAccessTokens.RevokePersonalAccessTokenByID(a2.ID)
	ok(t, "revoke again", resp, err, http.StatusNoContent)

	resp, err = e.root.PersonalAccessTokens.RevokePersonalAccessToken(b1.ID)
	ok(t, "admin revokes (deprecated alias)", resp, err, http.StatusNoContent)
	_, _, err = bob.PersonalAccessTokens.GetSinglePersonalAccessToken()
	apiError(t, "revoked secret", err, http.StatusUnauthorized, revokedBody)

	_, bob2 := e.pat(3, "b2", "api")
	_, err = bob2.PersonalAccessTokens.RevokePersonalAccessTokenByID(a1.ID)
	apiError(t, "bob revokes alice's token", err, http.StatusBadRequest, `{"message":"400 Bad request - Not permitted to revoke"}`)

	resp, err = bob2.PersonalAccessTokens.RevokePersonalAccessTokenByID(9999)
	e.notFound("revoke a missing token", resp, err, `{"message":"404 Not found"}`)

	_, reader := e.pat(2, "reader", "read_api")
	_, err = reader.PersonalAccessTokens.RevokePersonalAccessTokenByID(a1.ID)
	apiError(t, "revoke with read_api", err, http.StatusForbidden,
		`{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"api read_api"}`)

	// Self: any scope may revoke itself.
	resp, err = a3c.PersonalAccessTokens.RevokePersonalAccessTokenSelf()
	ok(t, "revoke self", resp, err, http.StatusNoContent)
	got, _, err = e.root.PersonalAccessTokens.GetSinglePersonalAccessTokenByID(a3.ID)
	if err != nil || !got.Revoked {
		t.Errorf("after revoke self: %+v, %v", got, err)
	}
	_, err = a3c.PersonalAccessTokens.RevokePersonalAccessTokenSelf()
	apiError(t, "revoke self twice", err, http.StatusUnauthorized, revokedBody)
}

// ---------------------------------------------------------------------------
// Users: impersonation tokens

func impNames(toks []*gitlab.ImpersonationToken) []string {
	var out []string
	for _, t := range toks {
		out = append(out, t.Name)
	}
	return out
}

// Users.CreateImpersonationToken, GetImpersonationToken,
// GetAllImpersonationTokens and RevokeImpersonationToken.
func TestUsersImpersonationTokens(t *testing.T) {
	e := setup(t)

	// client-go sends expires_at as an RFC 3339 timestamp (*time.Time).
	exp := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	imp, resp, err := e.root.Users.CreateImpersonationToken(2, &gitlab.CreateImpersonationTokenOptions{
		Name:      new("support"),
		Scopes:    &[]string{"api", "read_user"},
		ExpiresAt: &exp,
	})
	ok(t, "create impersonation token", resp, err, http.StatusCreated)
	if imp.ID == 0 || imp.Name != "support" || !slices.Equal(imp.Scopes, []string{"api", "read_user"}) ||
		!imp.Active || imp.Revoked || isoString(imp.ExpiresAt) != "2026-04-01" || imp.LastUsedAt != nil ||
		!strings.HasPrefix(imp.Token, "glpat-") {
		t.Errorf("impersonation token = %+v", imp)
	}
	if imp.CreatedAt == nil || !imp.CreatedAt.Equal(t0) {
		t.Errorf("created_at = %v, want %v", imp.CreatedAt, t0)
	}
	var raw map[string]any
	if err := json.Unmarshal(e.lastResponse().body, &raw); err != nil || raw["impersonation"] != true {
		t.Errorf("create body %s: want impersonation true", e.lastResponse().body)
	}

	// The impersonation secret acts as alice.
	self, resp, err := e.client(imp.Token).PersonalAccessTokens.GetSinglePersonalAccessToken()
	ok(t, "impersonation token reads itself", resp, err, http.StatusOK)
	if self.UserID != 2 || self.ID != imp.ID {
		t.Errorf("impersonation self = %+v", self)
	}

	got, resp, err := e.root.Users.GetImpersonationToken(2, imp.ID)
	ok(t, "get impersonation token", resp, err, http.StatusOK)
	if got.ID != imp.ID || got.Token != "" || !got.Active || got.LastUsedAt == nil || !got.LastUsedAt.Equal(t0) {
		t.Errorf("get impersonation token = %+v", got)
	}

	// More tokens: one already expired (past dates are accepted).
	past := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	old, resp, err := e.root.Users.CreateImpersonationToken(2, &gitlab.CreateImpersonationTokenOptions{
		Name: new("old"), Scopes: &[]string{"read_api"}, ExpiresAt: &past,
	})
	ok(t, "create impersonation token in the past", resp, err, http.StatusCreated)
	if old.Active {
		t.Errorf("past impersonation token is active: %+v", old)
	}
	third, _, err := e.root.Users.CreateImpersonationToken(2, &gitlab.CreateImpersonationTokenOptions{
		Name: new("third"), Scopes: &[]string{"read_api"}, ExpiresAt: &exp,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.pat(2, "plain", "api") // not an impersonation token: never listed

	list, resp, err := e.root.Users.GetAllImpersonationTokens(2, &gitlab.GetAllImpersonationTokensOptions{
		ListOptions: gitlab.ListOptions{PerPage: 2},
	})
	ok(t, "list impersonation tokens", resp, err, http.StatusOK)
	if got := impNames(list); !slices.Equal(got, []string{"support", "old"}) {
		t.Errorf("page 1 = %v", got)
	}
	if got, want := pagination(resp), [6]int64{3, 2, 2, 1, 2, 0}; got != want {
		t.Errorf("pagination %v, want %v", got, want)
	}
	e.checkLink("impersonation next", resp.NextLink, "/api/v4/users/2/impersonation_tokens",
		// state is declared with default "all"; Grape's params, which GitLab
		// builds the links from, hold defaults and path parameters.
		url.Values{"page": {"2"}, "per_page": {"2"}, "state": {"all"}, "user_id": {"2"}})
	for _, tok := range list {
		if tok.Token != "" {
			t.Errorf("list exposes the secret of %d", tok.ID)
		}
	}
	all, err := gitlab.ScanAndCollect(func(p gitlab.PaginationOptionFunc) ([]*gitlab.ImpersonationToken, *gitlab.Response, error) {
		return e.root.Users.GetAllImpersonationTokens(2, &gitlab.GetAllImpersonationTokensOptions{ListOptions: gitlab.ListOptions{PerPage: 1}}, p)
	})
	if err != nil || !slices.Equal(impNames(all), []string{"support", "old", "third"}) {
		t.Errorf("scan impersonation tokens: %v, %v", impNames(all), err)
	}

	resp, err = e.root.Users.RevokeImpersonationToken(2, third.ID)
	ok(t, "revoke impersonation token", resp, err, http.StatusNoContent)
	resp, err = e.root.Users.RevokeImpersonationToken(2, third.ID)
	ok(t, "revoke impersonation token again", resp, err, http.StatusNoContent)
	got, _, err = e.root.Users.GetImpersonationToken(2, third.ID)
	if err != nil || !got.Revoked || got.Active {
		t.Errorf("revoked impersonation token = %+v, %v", got, err)
	}

	for _, c := range []struct {
		state string
		want  []string
	}{
		{"all", []string{"support", "old", "third"}},
		{"active", []string{"support"}},
		{"inactive", []string{"old", "third"}},
	} {
		list, resp, err := e.root.Users.GetAllImpersonationTokens(2, &gitlab.GetAllImpersonationTokensOptions{State: new(c.state)})
		ok(t, "list state="+c.state, resp, err, http.StatusOK)
		if got := impNames(list); !slices.Equal(got, c.want) {
			t.Errorf("state=%s: %v, want %v", c.state, got, c.want)
		}
	}

	// Alice's own list hides impersonation tokens.
	_, alice := e.pat(2, "alice", "api")
	toks, _, err := alice.PersonalAccessTokens.ListPersonalAccessTokens(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := patNames(toks); !slices.Equal(got, []string{"plain", "alice"}) {
		t.Errorf("alice's own list = %v", got)
	}

	// Errors.
	_, _, err = alice.Users.CreateImpersonationToken(3, &gitlab.CreateImpersonationTokenOptions{
		Name: new("nope"), Scopes: &[]string{"api"}, ExpiresAt: &exp,
	})
	apiError(t, "non-admin creates an impersonation token", err, http.StatusForbidden, `{"message":"403 Forbidden"}`)
	_, _, err = alice.Users.GetAllImpersonationTokens(2, nil)
	apiError(t, "non-admin lists impersonation tokens", err, http.StatusForbidden, `{"message":"403 Forbidden"}`)
	_, _, err = alice.Users.GetImpersonationToken(2, imp.ID)
	apiError(t, "non-admin gets an impersonation token", err, http.StatusForbidden, `{"message":"403 Forbidden"}`)
	_, err = alice.Users.RevokeImpersonationToken(2, imp.ID)
	apiError(t, "non-admin revokes an impersonation token", err, http.StatusForbidden, `{"message":"403 Forbidden"}`)

	_, _, err = e.root.Users.CreateImpersonationToken(2, &gitlab.CreateImpersonationTokenOptions{
		Name: new("no expiry"), Scopes: &[]string{"api"},
	})
	apiError(t, "impersonation token without expiry", err, http.StatusBadRequest, `{"message":{"expires_at":["can't be blank"]}}`)

	_, _, err = e.root.Users.CreateImpersonationToken(2, &gitlab.CreateImpersonationTokenOptions{
		Name: new("bad scope"), Scopes: &[]string{"root_everything"}, ExpiresAt: &exp,
	})
	apiError(t, "impersonation token with an unknown scope", err, http.StatusBadRequest,
		`{"message":{"scopes":["can only contain available scopes"]}}`)

	_, resp, err = e.root.Users.GetImpersonationToken(99, imp.ID)
	e.notFound("impersonation token of a missing user", resp, err, `{"message":"404 User Not Found"}`)
	_, resp, err = e.root.Users.GetImpersonationToken(3, imp.ID)
	e.notFound("impersonation token of another user", resp, err, `{"message":"404 Impersonation Token Not Found"}`)
	resp, err = e.root.Users.RevokeImpersonationToken(3, imp.ID)
	e.notFound("revoke impersonation token of another user", resp, err, `{"message":"404 Impersonation Token Not Found"}`)

	// A non-admin cannot revoke their own impersonation token.
	_, err = e.client(imp.Token).PersonalAccessTokens.RevokePersonalAccessTokenSelf()
	apiError(t, "impersonation token revokes itself", err, http.StatusBadRequest, `{"message":"400 Bad request - Not permitted to revoke"}`)
}

// ---------------------------------------------------------------------------
// Project access tokens

// ProjectAccessTokens: create, list, get, rotate, rotate self and revoke,
// addressing the project by full path and by numeric ID.
func TestProjectAccessTokens(t *testing.T) {
	for _, pid := range []any{"acme/widgets", 1} {
		t.Run(reflect.TypeOf(pid).String(), func(t *testing.T) {
			e := setup(t)
			_, alice := e.pat(2, "alice", "api")
			_, bob := e.pat(3, "bob", "api")

			tok, resp, err := alice.ProjectAccessTokens.CreateProjectAccessToken(pid, &gitlab.CreateProjectAccessTokenOptions{
				Name:        new("deploy bot"),
				Description: new("pushes"),
				Scopes:      &[]string{"api", "read_repository"},
				AccessLevel: new(gitlab.DeveloperPermissions),
				ExpiresAt:   isoDate("2026-06-01"),
			})
			ok(t, "create", resp, err, http.StatusCreated)
			if tok.ID == 0 || tok.Name != "deploy bot" || tok.Description != "pushes" ||
				tok.UserID == 0 || tok.UserID == 2 || tok.AccessLevel != gitlab.DeveloperPermissions ||
				!slices.Equal(tok.Scopes, []string{"api", "read_repository"}) || !tok.Active || tok.Revoked ||
				isoString(tok.ExpiresAt) != "2026-06-01" || !strings.HasPrefix(tok.Token, "glpat-") ||
				tok.CreatedAt == nil || !tok.CreatedAt.Equal(t0) {
				t.Errorf("created = %+v", tok)
			}
			var raw map[string]any
			if err := json.Unmarshal(e.lastResponse().body, &raw); err != nil ||
				raw["resource_type"] != "project" || raw["resource_id"] != float64(1) {
				t.Errorf("create body %s: want resource_type project, resource_id 1", e.lastResponse().body)
			}

			dflt, resp, err := alice.ProjectAccessTokens.CreateProjectAccessToken(pid, &gitlab.CreateProjectAccessTokenOptions{
				Name:   new("reader"),
				Scopes: &[]string{"read_api"},
			})
			ok(t, "create with defaults", resp, err, http.StatusCreated)
			if dflt.AccessLevel != gitlab.MaintainerPermissions {
				t.Errorf("default access_level = %d, want 40", dflt.AccessLevel)
			}
			if got, want := isoString(dflt.ExpiresAt), date(e.today().AddDate(0, 0, 365)); got != want {
				t.Errorf("default expires_at = %s, want %s", got, want)
			}

			// The bot token authenticates as the bot.
			bot := e.client(tok.Token)
			self, resp, err := bot.PersonalAccessTokens.GetSinglePersonalAccessToken()
			ok(t, "bot reads itself", resp, err, http.StatusOK)
			if self.ID != tok.ID || self.UserID != tok.UserID {
				t.Errorf("bot self = %+v", self)
			}

			got, resp, err := alice.ProjectAccessTokens.GetProjectAccessToken(pid, tok.ID)
			ok(t, "get", resp, err, http.StatusOK)
			if got.ID != tok.ID || got.Token != "" || got.AccessLevel != gitlab.DeveloperPermissions ||
				got.LastUsedAt == nil || !got.LastUsedAt.Equal(t0) || !got.Active {
				t.Errorf("get = %+v", got)
			}

			list, resp, err := alice.ProjectAccessTokens.ListProjectAccessTokens(pid, &gitlab.ListProjectAccessTokensOptions{
				ListOptions: gitlab.ListOptions{PerPage: 1},
			})
			ok(t, "list page 1", resp, err, http.StatusOK)
			if len(list) != 1 || list[0].ID != tok.ID || list[0].Token != "" {
				t.Errorf("list page 1 = %v", list)
			}
			if got, want := pagination(resp), [6]int64{2, 2, 1, 1, 2, 0}; got != want {
				t.Errorf("list pagination %v, want %v", got, want)
			}
			all, err := gitlab.ScanAndCollect(func(p gitlab.PaginationOptionFunc) ([]*gitlab.ProjectAccessToken, *gitlab.Response, error) {
				return alice.ProjectAccessTokens.ListProjectAccessTokens(pid, &gitlab.ListProjectAccessTokensOptions{ListOptions: gitlab.ListOptions{PerPage: 1}}, p)
			})
			if err != nil || len(all) != 2 || all[0].ID != tok.ID || all[1].ID != dflt.ID {
				t.Errorf("scan project tokens: %v, %v", all, err)
			}

			// Rotate by ID.
			e.clock.Add(time.Minute)
			rot, resp, err := alice.ProjectAccessTokens.RotateProjectAccessToken(pid, tok.ID, &gitlab.RotateProjectAccessTokenOptions{
				ExpiresAt: isoDate("2026-07-01"),
			})
			ok(t, "rotate", resp, err, http.StatusOK)
			if rot.ID == tok.ID || rot.Name != "deploy bot" || rot.UserID != tok.UserID ||
				rot.AccessLevel != gitlab.DeveloperPermissions || isoString(rot.ExpiresAt) != "2026-07-01" ||
				!strings.HasPrefix(rot.Token, "glpat-") || !rot.Active || rot.LastUsedAt != nil {
				t.Errorf("rotated = %+v", rot)
			}
			_, _, err = bot.PersonalAccessTokens.GetSinglePersonalAccessToken()
			apiError(t, "old bot secret", err, http.StatusUnauthorized, revokedBody)

			// Rotate self with the bot's new secret.
			bot = e.client(rot.Token)
			rot2, resp, err := bot.ProjectAccessTokens.RotateProjectAccessTokenSelf(pid, nil)
			ok(t, "rotate self", resp, err, http.StatusOK)
			if rot2.ID == rot.ID || rot2.UserID != tok.UserID || rot2.AccessLevel != gitlab.DeveloperPermissions ||
				isoString(rot2.ExpiresAt) != date(e.today().AddDate(0, 0, 7)) || rot2.Token == "" {
				t.Errorf("rotated self = %+v", rot2)
			}
			bot = e.client(rot2.Token)

			_, _, err = bot.GroupAccessTokens.RotateGroupAccessTokenSelf("acme", nil)
			apiError(t, "project bot rotates itself on a group", err, http.StatusUnauthorized, unauthorizedBody)
			_, _, err = alice.ProjectAccessTokens.RotateProjectAccessTokenSelf(pid, nil)
			apiError(t, "user token on project self-rotate", err, http.StatusMethodNotAllowed, `{"message":"405 Method Not Allowed"}`)

			// Permission errors.
			_, _, err = bob.ProjectAccessTokens.ListProjectAccessTokens(pid, nil)
			apiError(t, "developer lists", err, http.StatusUnauthorized, unauthorizedBody)
			_, _, err = bob.ProjectAccessTokens.GetProjectAccessToken(pid, rot2.ID)
			apiError(t, "developer gets", err, http.StatusUnauthorized, unauthorizedBody)
			_, _, err = bob.ProjectAccessTokens.CreateProjectAccessToken(pid, &gitlab.CreateProjectAccessTokenOptions{
				Name: new("x"), Scopes: &[]string{"api"},
			})
			apiError(t, "developer creates", err, http.StatusBadRequest,
				`{"message":"400 Bad request - User does not have permission to create project access token"}`)
			_, _, err = bob.ProjectAccessTokens.RotateProjectAccessToken(pid, rot2.ID, nil)
			apiError(t, "developer rotates", err, http.StatusUnauthorized, unauthorizedBody)
			_, err = bob.ProjectAccessTokens.RevokeProjectAccessToken(pid, rot2.ID)
			apiError(t, "developer revokes", err, http.StatusBadRequest,
				`{"message":"400 Bad request - Bob cannot delete deploy bot"}`)
			_, _, err = alice.ProjectAccessTokens.CreateProjectAccessToken(pid, &gitlab.CreateProjectAccessTokenOptions{
				Name: new("owner"), Scopes: &[]string{"api"}, AccessLevel: new(gitlab.OwnerPermissions),
			})
			apiError(t, "maintainer creates an owner token", err, http.StatusBadRequest,
				`{"message":"400 Bad request - Could not provision owner access to project access token"}`)
			_, _, err = alice.ProjectAccessTokens.CreateProjectAccessToken(pid, &gitlab.CreateProjectAccessTokenOptions{
				Scopes: &[]string{"api"},
			})
			apiError(t, "create without name", err, http.StatusBadRequest, `{"error":"name is missing"}`)
			_, _, err = alice.ProjectAccessTokens.CreateProjectAccessToken(pid, &gitlab.CreateProjectAccessTokenOptions{
				Name: new("x"), Scopes: &[]string{"read_user"},
			})
			apiError(t, "create with read_user", err, http.StatusBadRequest, `{"error":"scopes does not have a valid value"}`)

			_, resp, err = alice.ProjectAccessTokens.GetProjectAccessToken(pid, 9999)
			e.notFound("get a missing token", resp, err, `{"message":"404 project Access Token Not Found"}`)
			_, resp, err = alice.ProjectAccessTokens.ListProjectAccessTokens("acme/nothing", nil)
			e.notFound("list a missing project", resp, err, `{"message":"404 Project Not Found"}`)
			_, resp, err = e.root.ProjectAccessTokens.RotateProjectAccessToken(pid, 9999, nil)
			e.notFound("admin rotates a missing token", resp, err, `{"message":"404 Not Found"}`)

			// Revoke.
			resp, err = alice.ProjectAccessTokens.RevokeProjectAccessToken(pid, rot2.ID)
			ok(t, "revoke", resp, err, http.StatusNoContent)
			_, _, err = bot.PersonalAccessTokens.GetSinglePersonalAccessToken()
			apiError(t, "revoked bot secret", err, http.StatusUnauthorized, revokedBody)
			got, _, err = alice.ProjectAccessTokens.GetProjectAccessToken(pid, rot2.ID)
			if err != nil || !got.Revoked || got.Active {
				t.Errorf("after revoke: %+v, %v", got, err)
			}
			resp, err = e.root.ProjectAccessTokens.RevokeProjectAccessToken(pid, rot2.ID)
			ok(t, "admin revokes again", resp, err, http.StatusNoContent)

			// State filter: the three revoked generations and the live reader.
			list, _, err = alice.ProjectAccessTokens.ListProjectAccessTokens(pid, &gitlab.ListProjectAccessTokensOptions{State: new("active")})
			if err != nil || len(list) != 1 || list[0].ID != dflt.ID {
				t.Errorf("active project tokens: %v, %v", list, err)
			}
			list, resp, err = alice.ProjectAccessTokens.ListProjectAccessTokens(pid, &gitlab.ListProjectAccessTokensOptions{State: new("inactive")})
			if err != nil || len(list) != 3 || resp.TotalItems != 3 {
				t.Errorf("inactive project tokens: %v, %v", list, err)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Group access tokens

func groupNames(toks []*gitlab.GroupAccessToken) []string {
	var out []string
	for _, t := range toks {
		out = append(out, t.Name)
	}
	return out
}

// GroupAccessTokens: create, list (with every option), get, rotate, rotate
// self and revoke, addressing the group by path and by numeric ID.
func TestGroupAccessTokens(t *testing.T) {
	for _, gid := range []any{"acme", 1} {
		t.Run(reflect.TypeOf(gid).String(), func(t *testing.T) {
			e := setup(t)
			_, alice := e.pat(2, "alice", "api")
			_, bob := e.pat(3, "bob", "api")

			tok, resp, err := alice.GroupAccessTokens.CreateGroupAccessToken(gid, &gitlab.CreateGroupAccessTokenOptions{
				Name:        new("group owner bot"),
				Description: new("admin tasks"),
				Scopes:      &[]string{"api"},
				AccessLevel: new(gitlab.OwnerPermissions),
				ExpiresAt:   isoDate("2026-06-01"),
			})
			ok(t, "create", resp, err, http.StatusCreated)
			if tok.ID == 0 || tok.Name != "group owner bot" || tok.Description != "admin tasks" ||
				tok.UserID == 0 || tok.UserID == 2 || tok.AccessLevel != gitlab.OwnerPermissions ||
				!slices.Equal(tok.Scopes, []string{"api"}) || !tok.Active || tok.Revoked ||
				isoString(tok.ExpiresAt) != "2026-06-01" || !strings.HasPrefix(tok.Token, "glpat-") {
				t.Errorf("created = %+v", tok)
			}
			var raw map[string]any
			if err := json.Unmarshal(e.lastResponse().body, &raw); err != nil ||
				raw["resource_type"] != "group" || raw["resource_id"] != float64(1) {
				t.Errorf("create body %s: want resource_type group, resource_id 1", e.lastResponse().body)
			}
			e.clock.Add(24 * time.Hour)
			guest, resp, err := alice.GroupAccessTokens.CreateGroupAccessToken(gid, &gitlab.CreateGroupAccessTokenOptions{
				Name: new("guest reader"), Scopes: &[]string{"read_api"}, AccessLevel: new(gitlab.GuestPermissions),
				ExpiresAt: isoDate("2026-04-01"),
			})
			ok(t, "create guest", resp, err, http.StatusCreated)
			if guest.AccessLevel != gitlab.GuestPermissions {
				t.Errorf("guest access_level = %d", guest.AccessLevel)
			}

			got, resp, err := alice.GroupAccessTokens.GetGroupAccessToken(gid, tok.ID)
			ok(t, "get", resp, err, http.StatusOK)
			if got.ID != tok.ID || got.Token != "" || got.AccessLevel != gitlab.OwnerPermissions || got.Description != "admin tasks" {
				t.Errorf("get = %+v", got)
			}

			list, resp, err := alice.GroupAccessTokens.ListGroupAccessTokens(gid, &gitlab.ListGroupAccessTokensOptions{
				ListOptions: gitlab.ListOptions{PerPage: 1, Page: 2},
			})
			ok(t, "list page 2", resp, err, http.StatusOK)
			if got := groupNames(list); !slices.Equal(got, []string{"guest reader"}) {
				t.Errorf("page 2 = %v", got)
			}
			if got, want := pagination(resp), [6]int64{2, 2, 1, 2, 0, 1}; got != want {
				t.Errorf("list pagination %v, want %v", got, want)
			}
			ref := fmt.Sprint(gid)
			e.checkLink("group prev", resp.PreviousLink, "/api/v4/groups/"+ref+"/access_tokens",
				url.Values{"id": {ref}, "page": {"1"}, "per_page": {"1"}})

			// Use the guest token so it has last_used_at (2026-03-11).
			if _, _, err := e.client(guest.Token).PersonalAccessTokens.GetSinglePersonalAccessToken(); err != nil {
				t.Fatal(err)
			}

			for _, c := range []struct {
				name string
				opt  gitlab.ListGroupAccessTokensOptions
				want []string
			}{
				{"all", gitlab.ListGroupAccessTokensOptions{}, []string{"group owner bot", "guest reader"}},
				{"sort name_asc", gitlab.ListGroupAccessTokensOptions{Sort: new(gitlab.NameAsc)}, []string{"group owner bot", "guest reader"}},
				{"sort name_desc", gitlab.ListGroupAccessTokensOptions{Sort: new(gitlab.NameDesc)}, []string{"guest reader", "group owner bot"}},
				{"sort expires_asc", gitlab.ListGroupAccessTokensOptions{Sort: new(gitlab.ExpiresAsc)}, []string{"guest reader", "group owner bot"}},
				{"sort created_desc", gitlab.ListGroupAccessTokensOptions{Sort: new(gitlab.CreatedDesc)}, []string{"guest reader", "group owner bot"}},
				{"search", gitlab.ListGroupAccessTokensOptions{Search: new("READER")}, []string{"guest reader"}},
				{"state active", gitlab.ListGroupAccessTokensOptions{State: new(gitlab.AccessTokenStateActive)}, []string{"group owner bot", "guest reader"}},
				{"state inactive", gitlab.ListGroupAccessTokensOptions{State: new(gitlab.AccessTokenStateInactive)}, nil},
				{"revoked false", gitlab.ListGroupAccessTokensOptions{Revoked: new(false)}, []string{"group owner bot", "guest reader"}},
				{"created_after", gitlab.ListGroupAccessTokensOptions{CreatedAfter: isoDate("2026-03-11")}, []string{"guest reader"}},
				{"created_before", gitlab.ListGroupAccessTokensOptions{CreatedBefore: isoDate("2026-03-11")}, []string{"group owner bot"}},
				{"expires_before", gitlab.ListGroupAccessTokensOptions{ExpiresBefore: isoDate("2026-06-01")}, []string{"guest reader"}},
				{"expires_after", gitlab.ListGroupAccessTokensOptions{ExpiresAfter: isoDate("2026-06-01")}, []string{"group owner bot"}},
				{"last_used_after", gitlab.ListGroupAccessTokensOptions{LastUsedAfter: isoDate("2026-03-11")}, []string{"guest reader"}},
				{"last_used_before", gitlab.ListGroupAccessTokensOptions{LastUsedBefore: isoDate("2026-03-12")}, []string{"guest reader"}},
			} {
				list, resp, err := alice.GroupAccessTokens.ListGroupAccessTokens(gid, &c.opt)
				ok(t, "list "+c.name, resp, err, http.StatusOK)
				if got := groupNames(list); !slices.Equal(got, c.want) {
					t.Errorf("list %s = %v, want %v", c.name, got, c.want)
				}
			}

			// Rotate by ID, then self-rotate with the new secret.
			rot, resp, err := alice.GroupAccessTokens.RotateGroupAccessToken(gid, tok.ID, &gitlab.RotateGroupAccessTokenOptions{
				ExpiresAt: isoDate("2026-08-01"),
			})
			ok(t, "rotate", resp, err, http.StatusOK)
			if rot.ID == tok.ID || rot.UserID != tok.UserID || rot.AccessLevel != gitlab.OwnerPermissions ||
				isoString(rot.ExpiresAt) != "2026-08-01" || rot.Token == "" || rot.Description != "admin tasks" {
				t.Errorf("rotated = %+v", rot)
			}
			_, _, err = e.client(tok.Token).GroupAccessTokens.RotateGroupAccessTokenSelf(gid, nil)
			apiError(t, "self-rotate with the replaced secret", err, http.StatusUnauthorized, revokedBody)
			// Reuse detection revoked rot, the live descendant.
			got, _, err = alice.GroupAccessTokens.GetGroupAccessToken(gid, rot.ID)
			if err != nil || !got.Revoked {
				t.Errorf("descendant after reuse = %+v, %v; want revoked", got, err)
			}

			// read_api lacks api/self_rotate: insufficient_scope.
			_, _, err = e.client(guest.Token).GroupAccessTokens.RotateGroupAccessTokenSelf(gid, nil)
			if er := apiError(t, "read_api bot self-rotates", err, http.StatusForbidden, ""); !bytes.Contains(er.Body, []byte(`"insufficient_scope"`)) {
				t.Errorf("read_api bot self-rotates: body %s", er.Body)
			}
			srot, _, err := alice.GroupAccessTokens.CreateGroupAccessToken(gid, &gitlab.CreateGroupAccessTokenOptions{
				Name: new("rotator"), Scopes: &[]string{"self_rotate"}, AccessLevel: new(gitlab.ReporterPermissions),
			})
			if err != nil {
				t.Fatal(err)
			}
			self, resp, err := e.client(srot.Token).GroupAccessTokens.RotateGroupAccessTokenSelf(gid, &gitlab.RotateGroupAccessTokenOptions{
				ExpiresAt: isoDate("2026-03-20"),
			})
			ok(t, "self_rotate bot self-rotates", resp, err, http.StatusOK)
			if self.ID == srot.ID || self.UserID != srot.UserID || self.AccessLevel != gitlab.ReporterPermissions ||
				isoString(self.ExpiresAt) != "2026-03-20" || self.Token == "" || !slices.Equal(self.Scopes, []string{"self_rotate"}) {
				t.Errorf("self-rotated = %+v", self)
			}

			// Permissions: bob is a Reporter.
			_, _, err = bob.GroupAccessTokens.ListGroupAccessTokens(gid, nil)
			apiError(t, "reporter lists", err, http.StatusUnauthorized, unauthorizedBody)
			_, _, err = bob.GroupAccessTokens.GetGroupAccessToken(gid, guest.ID)
			apiError(t, "reporter gets", err, http.StatusUnauthorized, unauthorizedBody)
			_, _, err = bob.GroupAccessTokens.CreateGroupAccessToken(gid, &gitlab.CreateGroupAccessTokenOptions{
				Name: new("x"), Scopes: &[]string{"api"}, AccessLevel: new(gitlab.GuestPermissions),
			})
			apiError(t, "reporter creates", err, http.StatusBadRequest,
				`{"message":"400 Bad request - User does not have permission to create group access token"}`)
			_, _, err = bob.GroupAccessTokens.RotateGroupAccessToken(gid, guest.ID, nil)
			apiError(t, "reporter rotates", err, http.StatusUnauthorized, unauthorizedBody)
			_, err = bob.GroupAccessTokens.RevokeGroupAccessToken(gid, guest.ID)
			apiError(t, "reporter revokes", err, http.StatusBadRequest,
				`{"message":"400 Bad request - Bob cannot delete guest reader"}`)
			_, _, err = alice.GroupAccessTokens.CreateGroupAccessToken(gid, &gitlab.CreateGroupAccessTokenOptions{
				Name: new("x"), Scopes: &[]string{"api"}, AccessLevel: new(gitlab.NoPermissions),
			})
			// A non-nil pointer to 0 is sent, and refused.
			apiError(t, "create with access_level 0", err, http.StatusBadRequest, `{"error":"access_level does not have a valid value"}`)

			_, resp, err = alice.GroupAccessTokens.GetGroupAccessToken(gid, 9999)
			e.notFound("get a missing token", resp, err, `{"message":"404 group Access Token Not Found"}`)
			resp, err = alice.GroupAccessTokens.RevokeGroupAccessToken(gid, 9999)
			e.notFound("revoke a missing token", resp, err, `{"message":"404 group Access Token Not Found"}`)
			_, resp, err = alice.GroupAccessTokens.ListGroupAccessTokens("nothing", nil)
			e.notFound("list a missing group", resp, err, `{"message":"404 Group Not Found"}`)

			resp, err = alice.GroupAccessTokens.RevokeGroupAccessToken(gid, guest.ID)
			ok(t, "revoke", resp, err, http.StatusNoContent)
			_, _, err = e.client(guest.Token).PersonalAccessTokens.GetSinglePersonalAccessToken()
			apiError(t, "revoked guest secret", err, http.StatusUnauthorized, revokedBody)
			list, resp, err = alice.GroupAccessTokens.ListGroupAccessTokens(gid, &gitlab.ListGroupAccessTokensOptions{Revoked: new(true)})
			ok(t, "list revoked", resp, err, http.StatusOK)
			if got := groupNames(list); !slices.Equal(got, []string{"group owner bot", "guest reader", "group owner bot", "rotator"}) {
				t.Errorf("revoked group tokens = %v", got)
			}
		})
	}
}

// client-go escapes a "." in a project path as %2E (gitlab.PathEscape) as
// well as the "/": both must resolve to the project.
func TestProjectPathEscaping(t *testing.T) {
	e := setup(t)
	e.dir.AddResource(patkit.Resource{Type: patkit.ResourceProject, ID: 2, FullPath: "acme/web.site"})
	e.dir.SetAccess(patkit.ResourceProject, 2, 2, patkit.Maintainer)
	_, alice := e.pat(2, "alice", "api")

	tok, resp, err := alice.ProjectAccessTokens.CreateProjectAccessToken("acme/web.site", &gitlab.CreateProjectAccessTokenOptions{
		Name: new("site"), Scopes: &[]string{"read_api"},
	})
	ok(t, "create on acme/web.site", resp, err, http.StatusCreated)
	if got := resp.Request.URL.EscapedPath(); got != "/api/v4/projects/acme%2Fweb%2Esite/access_tokens" {
		t.Errorf("client-go requested %s", got)
	}
	list, resp, err := alice.ProjectAccessTokens.ListProjectAccessTokens("acme/web.site", nil)
	ok(t, "list on acme/web.site", resp, err, http.StatusOK)
	if len(list) != 1 || list[0].ID != tok.ID {
		t.Errorf("list = %v", list)
	}
	got, resp, err := alice.ProjectAccessTokens.GetProjectAccessToken(2, tok.ID)
	ok(t, "get by numeric ID", resp, err, http.StatusOK)
	if got.ID != tok.ID || got.Name != "site" {
		t.Errorf("get = %+v", got)
	}
	_, resp, err = alice.ProjectAccessTokens.GetProjectAccessToken("acme/widgets", tok.ID)
	e.notFound("token of another project", resp, err, `{"message":"404 project Access Token Not Found"}`)
}

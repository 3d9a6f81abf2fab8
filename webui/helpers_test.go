package webui_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/memstore"
	"github.com/patkit/patkit/webui"
)

var (
	testKey = []byte("0123456789abcdef0123456789abcdef")
	// t0 is 2026-03-10 12:00 UTC.
	t0       = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	secretRE = regexp.MustCompile(`glpat-[A-Za-z0-9_-]{27}[0-9a-z]{7}`)
)

// site is the handler over memstore with the example server's directory:
// root (1, admin), alice (2), bob (3); project acme/widgets (alice
// Maintainer, bob Developer), group acme (alice Owner, bob Reporter).
type site struct {
	svc *patkit.Service
	dir *patkit.MemDirectory
	h   http.Handler
	log *syncBuffer
	// seen collects every response, to check that no secret leaks into a
	// URL, a header or a log.
	seen []*httptest.ResponseRecorder
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func newSite(t *testing.T) *site {
	t.Helper()
	return newSiteOn(t, memstore.New())
}

// newSiteOn is newSite on store.
func newSiteOn(t *testing.T, store patkit.Store) *site {
	t.Helper()
	s := &site{dir: new(patkit.MemDirectory), log: new(syncBuffer)}
	s.dir.AddUser(patkit.User{ID: 1, Username: "root", Name: "Administrator", Admin: true})
	s.dir.AddUser(patkit.User{ID: 2, Username: "alice", Name: "Alice"})
	s.dir.AddUser(patkit.User{ID: 3, Username: "bob", Name: "Bob"})
	s.dir.AddResource(patkit.Resource{Type: patkit.ResourceProject, ID: 1, FullPath: "acme/widgets"})
	s.dir.AddResource(patkit.Resource{Type: patkit.ResourceGroup, ID: 1, FullPath: "acme"})
	s.dir.SetAccess(patkit.ResourceProject, 1, 2, patkit.Maintainer)
	s.dir.SetAccess(patkit.ResourceProject, 1, 3, patkit.Developer)
	s.dir.SetAccess(patkit.ResourceGroup, 1, 2, patkit.Owner)
	s.dir.SetAccess(patkit.ResourceGroup, 1, 3, patkit.Reporter)
	svc, err := patkit.New(store, s.dir, testKey, &patkit.Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	s.svc = svc
	s.h = webui.New(svc, &webui.Options{
		// The test's sign-in: the user ID in a header.
		Principal: func(r *http.Request) (*patkit.Principal, error) {
			id, err := strconv.ParseInt(r.Header.Get("X-Test-User"), 10, 64)
			if err != nil {
				return nil, nil
			}
			return svc.Principal(r.Context(), id, true)
		},
		SignInURL: "/sign_in",
		Logger:    slog.New(slog.NewTextHandler(s.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	t.Cleanup(func() { s.checkNoLeaks(t) })
	return s
}

const (
	root  = 1
	alice = 2
	bob   = 3
)

// do sends a request as user (0: nobody) and returns the response.
func (s *site) do(t *testing.T, user int64, method, path string, form url.Values, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	r := httptest.NewRequestWithContext(context.Background(), method, "http://example.test"+path, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if user != 0 {
		r.Header.Set("X-Test-User", strconv.FormatInt(user, 10))
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	s.seen = append(s.seen, w)
	return w
}

// get is do with GET, expecting status.
func (s *site) get(t *testing.T, user int64, path string, status int) string {
	t.Helper()
	w := s.do(t, user, http.MethodGet, path, nil)
	if w.Code != status {
		t.Fatalf("GET %s as %d: %d, want %d\n%s", path, user, w.Code, status, w.Body)
	}
	return w.Body.String()
}

// post sends a form as user, with the as field of that user's pages.
func (s *site) post(t *testing.T, user int64, path string, form url.Values, status int) *httptest.ResponseRecorder {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if !form.Has("as") {
		form.Set("as", strconv.FormatInt(user, 10))
	}
	w := s.do(t, user, http.MethodPost, path, form)
	if w.Code != status {
		t.Fatalf("POST %s as %d: %d, want %d\n%s", path, user, w.Code, status, w.Body)
	}
	return w
}

// checkNoLeaks checks that no secret appeared anywhere but in a page's
// body: not in a header (Location included) or a log line.
func (s *site) checkNoLeaks(t *testing.T) {
	for _, w := range s.seen {
		for k, vs := range w.Header() {
			for _, v := range vs {
				if secretRE.MatchString(v) {
					t.Errorf("secret in header %s: %q", k, v)
				}
			}
		}
		for _, href := range hrefRE.FindAllStringSubmatch(w.Body.String(), -1) {
			if secretRE.MatchString(href[1]) {
				t.Errorf("secret in a link or form action: %q", href[1])
			}
		}
	}
	if secretRE.MatchString(s.log.String()) {
		t.Errorf("secret in the log:\n%s", s.log)
	}
}

var hrefRE = regexp.MustCompile(`(?:href|action|src)="([^"]*)"`)

// secretIn returns the one secret a page shows.
func secretIn(t *testing.T, body string) string {
	t.Helper()
	all := secretRE.FindAllString(body, -1)
	if len(all) != 1 {
		t.Fatalf("page shows %d secrets, want 1:\n%s", len(all), body)
	}
	return all[0]
}

// wantIn checks that body contains every one of subs.
func wantIn(t *testing.T, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(body, s) {
			t.Errorf("page lacks %q", s)
		}
	}
}

// wantNotIn checks that body contains none of subs.
func wantNotIn(t *testing.T, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(body, s) {
			t.Errorf("page has %q", s)
		}
	}
}

package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// TestPlainURL holds the redactor's fast path to the full one: wherever
// plain answers, redacted answers the same, and plain answers for the
// paths and queries GitLab's clients send.
func TestPlainURL(t *testing.T) {
	const secret = "glpat-AbCdEfGhIjKlMnOpQrStUvWxYz0123456"
	shape := "glx-" + strings.Repeat("a", 20) // the shortest GitLab token shape
	taken := []struct{ path, query string }{
		{"/api/v4/personal_access_tokens/self", ""},
		{"/api/v4/personal_access_tokens", "per_page=20&page=3&sort=created_desc&state=active&revoked=false"},
		{"/api/v4/personal_access_tokens", "search=laptop&user_id=2&created_after=2026-01-01T00:00:00Z"},
		{"/api/v4/projects/42/access_tokens/7/rotate", ""},
		{"/api/v4/users/2/impersonation_tokens", "state=inactive"},
		{"/api/v4/user", ""},
		{"/api/v4/version", ""},
		{"/api/v4/" + shape[:minShapeRun-1], ""},
		{"/", ""},
		{"", ""},
	}
	for _, rd := range []redactor{newRedactor("glpat-"), newRedactor("Acme."), newRedactor("")} {
		for _, c := range taken {
			for _, hasQuery := range []bool{c.query != "", true} {
				got, ok := rd.plain(c.path, c.query, hasQuery)
				if !ok {
					t.Errorf("prefix %q: plain(%q, %q, %v) not taken", rd.prefix, c.path, c.query, hasQuery)
					continue
				}
				if want := rd.redacted(c.path, c.query, hasQuery); got != want {
					t.Errorf("prefix %q: plain(%q, %q, %v) = %q, redacted %q", rd.prefix, c.path, c.query, hasQuery, got, want)
				}
			}
		}
	}

	// What redacted would change, and what plain cannot judge at a glance
	// (escapes, pluses, bytes that are not printable ASCII, long pieces),
	// goes to redacted.
	long := strings.Repeat("x", maxLoggedURL)
	changed := []struct{ path, query string }{
		{"/api/v4/personal_access_tokens/" + secret, ""},
		{"/api/v4/personal_access_tokens/" + secret[len("glpat-"):], ""},
		{"/api/v4/personal_access_tokens/glpat-x", ""},
		{"/api/v4/personal_access_tokens/GLPAT-x", ""},
		{"/api/v4/personal_access_tokens", "search=GlPaT-abc"},
		{"/api/v4/personal_access_tokens/" + shape, ""},
		{"/api/v4/personal_access_tokens", "search=" + strings.ToUpper(shape)},
		{"/api/v4/personal_access_tokens", "private_token=x"},
		{"/api/v4/personal_access_tokens", "Job-Token=x"},
		{"/api/v4/personal_access_tokens", "a=1;xTOKENx=2"},
		{"/api/v4/personal_access_tokens/%67lpat-x", ""},
		{"/api/v4/personal_access_tokens", "search=%67lpat-x"},
		{"/api/v4/personal_access_tokens", "private%5Ftoken=x"},
		{"/api/v4/personal_access_tokens", "private_token%00=x"},
		{"/api/v4/personal_access_tokens", "tok\x00en=x"},
		{"/api/v4/personal_access_tokens", "search=my+glpat-x"},
		{"/api/v4/personal_access_tokens", "search=" + long},
		{"/api/v4/" + long, ""},
		{"/api/v4/caf\xc3\xa9", ""},
		{"/api/v4/a b", ""},
	}
	rd := newRedactor("glpat-")
	for _, c := range changed {
		if got, ok := rd.plain(c.path, c.query, c.query != ""); ok {
			t.Errorf("plain(%.60q, %.60q) = %.60q, want the full redactor (%.60q)", c.path, c.query, got, rd.redacted(c.path, c.query, c.query != ""))
		}
	}
}

// TestPlainURLAllocations holds the fast path of a request without a query
// to no allocation.
func TestPlainURLAllocations(t *testing.T) {
	rd := newRedactor("glpat-")
	if n := testing.AllocsPerRun(100, func() {
		if _, ok := rd.plain("/api/v4/personal_access_tokens/self", "", false); !ok {
			t.Fatal("not taken")
		}
	}); n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}

// BenchmarkRedactURL is the logged path of the commonest request, on the
// fast path.
func BenchmarkRedactURL(b *testing.B) {
	rd := newRedactor("glpat-")
	r := httptest.NewRequest("GET", "/api/v4/personal_access_tokens/self", nil)
	for b.Loop() {
		rd.url(r)
	}
}

// TestZeroRedactor checks that the zero redactor, which has no prefix,
// judges as one made for the empty prefix does.
func TestZeroRedactor(t *testing.T) {
	var zero redactor
	empty := newRedactor("")
	for _, s := range []string{"/api/v4/personal_access_tokens/self", "/api/v4/glpat-x", "/api/v4/caf\xc3\xa9", strings.Repeat("a", minShapeRun)} {
		if got, want := zero.plainPiece(s), empty.plainPiece(s); got != want {
			t.Errorf("plainPiece(%q): zero redactor %v, newRedactor(\"\") %v", s, got, want)
		}
	}
}

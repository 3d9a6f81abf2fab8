package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/httpapi"
)

// TestDate holds every answer of the API to a Date header of the second
// it was written (what net/http would add), in every way an answer is
// written, and to the Date a host sets or suppresses (a nil value, as
// net/http documents) before it calls the API, which it keeps.
func TestDate(t *testing.T) {
	e := newEnv(t, func(po *patkit.Options, _ *httpapi.Options) { po.Now = time.Now })
	tok, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
	for _, tt := range []struct {
		method, target, token string
		want                  int
	}{
		{"GET", "/api/v4/personal_access_tokens/self", tok, http.StatusOK},
		{"GET", "/api/v4/personal_access_tokens/self", "", http.StatusUnauthorized},
		{"GET", "/api/v4/personal_access_tokens?per_page=x", tok, http.StatusBadRequest},
		{"GET", "/api/v4/no/such/route", tok, http.StatusNotFound},
		{"DELETE", "/api/v4/personal_access_tokens/self", tok, http.StatusNoContent},
	} {
		r := httptest.NewRequest(tt.method, tt.target, nil)
		if tt.token != "" {
			r.Header.Set("PRIVATE-TOKEN", tt.token)
		}
		before := time.Now().Truncate(time.Second)
		rec := httptest.NewRecorder()
		e.api.ServeHTTP(rec, r)
		after := time.Now()
		if rec.Code != tt.want {
			t.Fatalf("%s %s: status %d, want %d", tt.method, tt.target, rec.Code, tt.want)
		}
		v := rec.Header().Values("Date")
		if len(v) != 1 {
			t.Errorf("%s %s (%d): Date %q, want one", tt.method, tt.target, rec.Code, v)
			continue
		}
		d, err := http.ParseTime(v[0])
		if err != nil || v[0] != d.UTC().Format(http.TimeFormat) || d.Before(before) || d.After(after) {
			t.Errorf("%s %s (%d): Date %q, want the time of the answer in http.TimeFormat (%v)", tt.method, tt.target, rec.Code, v[0], err)
		}
	}

	other, _ := e.token(aliceID, "other", patkit.ScopeAPI)
	for _, set := range [][]string{{"Mon, 01 Jan 2001 00:00:00 GMT"}, nil} {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Date"] = set
			e.api.ServeHTTP(w, r)
		})
		r := httptest.NewRequest("GET", "/api/v4/personal_access_tokens/self", nil)
		r.Header.Set("PRIVATE-TOKEN", other)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if got, ok := rec.Header()["Date"]; !ok || len(got) != len(set) || len(set) == 1 && got[0] != set[0] {
			t.Errorf("the host's Date %q: answered %q", set, got)
		}
	}
}

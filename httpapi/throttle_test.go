package httpapi_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/httpapi"
)

// fromHeader makes X-Test-Client the client address, so that one test can
// play many clients.
func fromHeader(r *http.Request) string { return r.Header.Get("X-Test-Client") }

// throttleEnv is an env whose handler throttles failed authentication,
// limit failures a minute per client, on a store that counts its
// authentication lookups.
func throttleEnv(t *testing.T, limit int) (*env, *countingLookups) {
	t.Helper()
	e := newEnv(t)
	store := &countingLookups{Store: e.store}
	svc, err := patkit.New(store, e.dir, bytes.Repeat([]byte("k"), 32), &patkit.Options{CacheSize: -1, Now: func() time.Time { return *e.clock }})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	e.api = httpapi.New(svc, &httpapi.Options{
		ExternalURL:     "https://gitlab.example.com",
		Logger:          slog.New(slog.NewJSONHandler(e.logs, nil)),
		ClientIP:        fromHeader,
		FailedAuthLimit: &httpapi.FailedAuthLimit{Limit: limit, Period: time.Minute},
	})
	e.h = conform(t, e.api)
	return e, store
}

func (r *resp) code200(t *testing.T) {
	t.Helper()
	if r.code != 200 {
		t.Errorf("status %d, want 200: %s", r.code, r.body)
	}
}

func (e *env) from(client, token, path string) *resp {
	e.t.Helper()
	return e.do(req{method: "GET", path: path, token: token, header: http.Header{"X-Test-Client": {client}}})
}

// TestFailedAuthThrottle checks that a client address that failed to
// authenticate Limit times in a period gets GitLab's 429 until the period
// ends, before any token work, and that other clients are not affected.
func TestFailedAuthThrottle(t *testing.T) {
	e, store := throttleEnv(t, 3)
	alice, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
	bob, _ := e.token(bobID, "bob", patkit.ScopeAPI)
	unknown := "glpat-" + strings.Repeat("a", 34)
	const self = "/api/v4/personal_access_tokens/self"

	// Unknown, malformed and revoked tokens count alike.
	revoked, revokedID := e.token(aliceID, "old", patkit.ScopeAPI)
	if err := e.svc.RevokeToken(t.Context(), e.principal(aliceID), revokedID); err != nil {
		t.Fatal(err)
	}
	e.from("10.0.0.1", unknown, self).check(t, 401, body401)
	e.from("10.0.0.1", "garbage", self).check(t, 401, body401)
	if r := e.from("10.0.0.1", revoked, self); r.code != 401 {
		t.Fatalf("revoked: %d %s", r.code, r.body)
	}
	store.n.Store(0)
	r := e.from("10.0.0.1", unknown, self)
	if r.code != 429 || r.body != "Retry later\n" || r.header.Get("Content-Type") != "text/plain" {
		t.Fatalf("throttled: %d %q %v", r.code, r.body, r.header)
	}
	// now is 12:00:00.123: the minute ends in 59.877 s.
	for k, v := range map[string]string{
		"Retry-After":         "60",
		"RateLimit-Name":      "throttle_unauthenticated_api",
		"RateLimit-Limit":     "3",
		"RateLimit-Observed":  "3",
		"RateLimit-Remaining": "0",
		"RateLimit-Reset":     strconv.FormatInt(time.Date(2026, 3, 1, 12, 1, 0, 0, time.UTC).Unix(), 10),
		"RateLimit-ResetTime": "Sun, 01 Mar 2026 12:01:00 GMT",
	} {
		if got := r.header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	// Valid tokens from that address too, without looking any token up.
	if r := e.from("10.0.0.1", alice, self); r.code != 429 {
		t.Errorf("valid token from a throttled address: %d %s", r.code, r.body)
	}
	if n := store.n.Load(); n != 0 {
		t.Errorf("%d token lookups for throttled requests, want 0", n)
	}
	// Other clients: valid tokens pass, failures count apart.
	e.from("10.0.0.2", bob, self).code200(t)
	e.from("10.0.0.2", unknown, self).check(t, 401, body401)
	e.from("10.0.0.2", bob, self).code200(t)
	// Anonymous requests do no token work and are not throttled, unless
	// they send a form body, which may hold a credential: it is not read.
	e.from("10.0.0.1", "", self).check(t, 401, body401)
	body := &watchedBody{r: strings.NewReader("private_token=" + alice)}
	rq := httptest.NewRequest("POST", "/api/v4/personal_access_tokens/self/rotate", body)
	rq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rq.Header.Set("X-Test-Client", "10.0.0.1")
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, rq)
	if rec.Code != 429 || body.read.Load() {
		t.Errorf("form body from a throttled address: %d (body read %v)", rec.Code, body.read.Load())
	}
	// The host's routes, through the middleware, are throttled alike.
	h := httpapi.New(e.svc, &httpapi.Options{ClientIP: fromHeader, FailedAuthLimit: &httpapi.FailedAuthLimit{Limit: 1, Period: time.Minute}, Logger: slog.New(slog.DiscardHandler)})
	host := h.RequireScopes()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	for i, want := range []int{401, 429, 429} {
		rq := httptest.NewRequest("GET", "/host", nil)
		rq.Header.Set("X-Test-Client", "10.0.0.3")
		rq.Header.Set("Private-Token", []string{unknown, unknown, alice}[i])
		rec := httptest.NewRecorder()
		host.ServeHTTP(rec, rq)
		if rec.Code != want {
			t.Errorf("host route, request %d: %d %s, want %d", i, rec.Code, rec.Body, want)
		}
	}
	// The next period starts afresh.
	*e.clock = e.clock.Add(time.Minute)
	e.from("10.0.0.1", alice, self).code200(t)
}

// TestFailedAuthThrottleOffByDefault checks that without FailedAuthLimit
// nothing is throttled.
func TestFailedAuthThrottleOffByDefault(t *testing.T) {
	e := newEnv(t)
	for range 200 {
		if r := e.do(req{method: "GET", path: "/api/v4/personal_access_tokens/self", token: "glpat-" + strings.Repeat("b", 34)}); r.code != 401 {
			t.Fatalf("status %d", r.code)
		}
	}
}

// TestFailedAuthThrottleBoundedUnderFlood sends failures from 100,000
// distinct addresses: the table stays within MaxClients, the newest
// addresses are still counted, and a valid token from yet another address
// passes.
func TestFailedAuthThrottleBoundedUnderFlood(t *testing.T) {
	e := newEnv(t, func(_ *patkit.Options, ho *httpapi.Options) {
		ho.ClientIP = fromHeader
		ho.FailedAuthLimit = &httpapi.FailedAuthLimit{Limit: 2, Period: time.Minute, MaxClients: 1000}
		ho.Logger = slog.New(slog.DiscardHandler)
	})
	alice, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
	h := e.api
	// Through the middleware, the shortest way to the throttle.
	host := h.Authenticate(http.NotFoundHandler())
	rq := httptest.NewRequest("GET", "/host", nil)
	rq.Header.Set("Private-Token", "nope")
	for i := range 100_000 {
		rq.Header.Set("X-Test-Client", fmt.Sprintf("2001:db8::%x", i))
		rec := httptest.NewRecorder()
		host.ServeHTTP(rec, rq)
		if rec.Code != 401 {
			t.Fatalf("address %d: %d", i, rec.Code)
		}
		if n := httpapi.ThrottledClients(h); n > 1000 {
			t.Fatalf("%d addresses remembered after %d, want at most 1000", n, i+1)
		}
	}
	last := fmt.Sprintf("2001:db8::%x", 100_000-1)
	e.from(last, "nope", "/api/v4/personal_access_tokens/self").check(t, 401, body401)
	if r := e.from(last, "nope", "/api/v4/personal_access_tokens/self"); r.code != 429 {
		t.Errorf("a recent flooding address is not throttled: %d", r.code)
	}
	e.from("192.0.2.1", alice, "/api/v4/personal_access_tokens/self").code200(t)
}

// TestFailedAuthThrottleConcurrent checks, under the race detector, that
// while other addresses fail and are throttled concurrently, a valid token
// from an address of its own is never refused.
func TestFailedAuthThrottleConcurrent(t *testing.T) {
	e := newEnv(t, func(_ *patkit.Options, ho *httpapi.Options) {
		ho.ClientIP = fromHeader
		// Room for all 200 failing addresses: with less, LRU eviction
		// may forget each before its fifth failure, as documented.
		ho.FailedAuthLimit = &httpapi.FailedAuthLimit{Limit: 5, Period: time.Minute, MaxClients: 1024}
		ho.Logger = slog.New(slog.DiscardHandler)
	})
	alice, _ := e.token(aliceID, "alice", patkit.ScopeAPI)
	send := func(client, token string) int {
		rq := httptest.NewRequest("GET", "/api/v4/personal_access_tokens/self", nil)
		rq.Header.Set("X-Test-Client", client)
		rq.Header.Set("Private-Token", token)
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, rq)
		return rec.Code
	}
	var wg sync.WaitGroup
	var throttled atomic.Int64
	for g := range 4 {
		wg.Go(func() {
			for i := range 500 {
				if send(fmt.Sprintf("10.%d.0.%d", g, i%50), "nope") == 429 {
					throttled.Add(1)
				}
			}
		})
	}
	for range 200 {
		if code := send("198.51.100.7", alice); code != 200 {
			t.Fatalf("valid token from a quiet address: %d", code)
		}
	}
	wg.Wait()
	if throttled.Load() == 0 {
		t.Error("no failing address was throttled")
	}
}

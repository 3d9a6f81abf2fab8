package httpapi_test

import (
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/httpapi"
	"github.com/patkit/patkit/internal/benchhttp"
)

// serveSelf returns a function that serves GET
// /personal_access_tokens/self with the secret secret returns, as
// examples/server configures the API (logs at Warn, as in production),
// and fails tb unless the status is want. opts apply after that
// configuration.
func serveSelf(tb testing.TB, secret func(e *env) string, want int, opts ...envOption) func() {
	e := newEnv(tb, append([]envOption{func(po *patkit.Options, ho *httpapi.Options) {
		po.Now = time.Now
		ho.Logger = slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}}, opts...)...)
	r, err := http.NewRequest("GET", "/api/v4/personal_access_tokens/self", nil)
	if err != nil {
		tb.Fatal(err)
	}
	r.RemoteAddr = "127.0.0.1:40000"
	r.Header.Set("PRIVATE-TOKEN", secret(e))
	w := benchhttp.NewDiscard()
	return func() {
		w.Reset()
		e.api.ServeHTTP(w, r)
		if w.Code != want && !(w.Code == 0 && want == http.StatusOK) {
			tb.Fatalf("status %d, want %d", w.Code, want)
		}
	}
}

func validSecret(e *env) string {
	secret, _ := e.token(aliceID, "bench", patkit.ScopeAPI)
	return secret
}

// unknownSecret is well-formed and held by no token of e.
func unknownSecret(e *env) string {
	other, _ := newEnv(e.t).token(aliceID, "elsewhere", patkit.ScopeAPI)
	return other
}

func benchServe(b *testing.B, secret func(e *env) string, want int) {
	serve := serveSelf(b, secret, want)
	b.ReportAllocs()
	for b.Loop() {
		serve()
	}
}

// BenchmarkServeSelf is GET /personal_access_tokens/self with a valid,
// cached token: what every authenticated request of a host costs in
// httpapi, beyond net/http.
func BenchmarkServeSelf(b *testing.B) {
	benchServe(b, validSecret, http.StatusOK)
}

// BenchmarkServeUnknown presents a well-formed secret no token has.
func BenchmarkServeUnknown(b *testing.B) {
	benchServe(b, unknownSecret, http.StatusUnauthorized)
}

// serveList returns a function that serves an administrator's GET
// /personal_access_tokens page of 20 (of 100 tokens, memstore), as
// examples/server configures the API, and fails tb unless it is 200.
func serveList(tb testing.TB) func() {
	e := newEnv(tb, func(po *patkit.Options, ho *httpapi.Options) {
		po.Now = time.Now
		ho.Logger = slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	root, _ := e.token(rootID, "root", patkit.ScopeAPI)
	for range 99 {
		e.token(aliceID, "bench", patkit.ScopeAPI)
	}
	r, err := http.NewRequest("GET", "/api/v4/personal_access_tokens?per_page=20", nil)
	if err != nil {
		tb.Fatal(err)
	}
	r.RemoteAddr = "127.0.0.1:40000"
	r.Header.Set("PRIVATE-TOKEN", root)
	w := benchhttp.NewDiscard()
	return func() {
		w.Reset()
		e.api.ServeHTTP(w, r)
		if w.Code != 0 && w.Code != http.StatusOK {
			tb.Fatalf("status %d", w.Code)
		}
	}
}

// BenchmarkServeList is an administrator's GET /personal_access_tokens
// page of 20 (of 100 tokens): the entities and the pagination headers.
func BenchmarkServeList(b *testing.B) {
	serve := serveList(b)
	b.ReportAllocs()
	for b.Loop() {
		serve()
	}
}

// Package benchhttp holds what the HTTP benchmarks share (benchtable's
// rows and the in-process benchmarks of httpapi, sqlitestore and
// examples/server): the bare handler that is their ceiling, the
// http.Server settings examples/server runs with, so that all measure
// against the same reference, and the ResponseWriter they serve into.
package benchhttp

import (
	"net/http"
	"time"
)

// BareToken is the static header value the bare handler accepts.
const BareToken = "glpat-bare-handler-static-token-0000000"

// Bare is the ceiling: a net/http handler that checks a static
// PRIVATE-TOKEN header and writes a small JSON body, or a 401 like
// GitLab's.
func Bare() http.Handler {
	body := []byte(`{"id":1,"name":"bare","revoked":false,"created_at":"2026-01-01T00:00:00.000Z","scopes":["api"],"user_id":2,"active":true,"expires_at":"2027-01-01"}`)
	unauthorized := []byte(`{"message":"401 Unauthorized"}`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("PRIVATE-TOKEN") != BareToken {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write(unauthorized)
			return
		}
		w.Write(body)
	})
}

// Server returns an http.Server for h with examples/server's settings (a
// command cannot be imported).
func Server(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       20 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

// Discard is a ResponseWriter for a benchmark in process: it keeps the
// status (200 at the first Write without one, as net/http) and its header
// map between requests, and throws the body away, so that the benchmark
// measures the handler and not a recorder. Reset readies it for the next
// request.
type Discard struct {
	Code int
	h    http.Header
}

// NewDiscard returns an empty Discard.
func NewDiscard() *Discard { return &Discard{h: make(http.Header)} }

// Header returns the header map, cleared by Reset.
func (w *Discard) Header() http.Header { return w.h }

// Write discards p.
func (w *Discard) Write(p []byte) (int, error) {
	if w.Code == 0 {
		w.Code = http.StatusOK
	}
	return len(p), nil
}

// WriteHeader keeps code.
func (w *Discard) WriteHeader(code int) { w.Code = code }

// Reset clears the status and the header map.
func (w *Discard) Reset() {
	clear(w.h)
	w.Code = 0
}

package httpapi

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"
)

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	code  int
	bytes int64
}

func (sw *statusWriter) WriteHeader(code int) {
	if sw.code == 0 {
		sw.code = code
	}
	sw.ResponseWriter.WriteHeader(code)
}

func (sw *statusWriter) Write(b []byte) (int, error) {
	if sw.code == 0 {
		sw.code = http.StatusOK
	}
	n, err := sw.ResponseWriter.Write(b)
	sw.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (sw *statusWriter) Unwrap() http.ResponseWriter { return sw.ResponseWriter }

// exchange is one request being served: the writer that records its
// status, which the middleware of every request needs, and what an
// endpoint needs, allocated with it (one allocation instead of four).
// The handlers of the routes get it as their ResponseWriter.
type exchange struct {
	statusWriter
	in   input
	ar   authResult
	call call
}

// newExchange returns the exchange of a request answered on w.
func newExchange(w http.ResponseWriter) *exchange {
	return &exchange{statusWriter: statusWriter{ResponseWriter: w}}
}

// logRequests logs one record per request.
func logRequests(log *slog.Logger, rd redactor, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !log.Enabled(r.Context(), slog.LevelInfo) {
			// The path is redacted only for a record that is written.
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		sw := newExchange(w)
		next.ServeHTTP(sw, r)
		log.InfoContext(r.Context(), "http request",
			"method", r.Method,
			"path", rd.url(r),
			"status", cmp.Or(sw.code, http.StatusOK),
			"bytes", sw.bytes,
			"duration", time.Since(start),
		)
	})
}

// recoverPanics turns a panic into a logged 500 with a generic body. A
// panic is a bug: no input should cause one.
func recoverPanics(log *slog.Logger, rd redactor, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw, ok := w.(*exchange)
		if !ok {
			sw = newExchange(w)
		}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			log.ErrorContext(r.Context(), "patkit: panic serving request",
				"method", r.Method, "path", rd.url(r),
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if sw.code == 0 {
				writeMessage(sw, http.StatusInternalServerError, "500 Internal Server Error")
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

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

// logRequests logs one record per request.
func logRequests(log *slog.Logger, rd redactor, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !log.Enabled(r.Context(), slog.LevelInfo) {
			// The path is redacted only for a record that is written.
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
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
		sw, ok := w.(*statusWriter)
		if !ok {
			sw = &statusWriter{ResponseWriter: w}
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

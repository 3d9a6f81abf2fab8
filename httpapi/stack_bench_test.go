package httpapi_test

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/httpapi"
	"github.com/patkit/patkit/internal/benchhttp"
)

// benchStack sends GET /api/v4/personal_access_tokens/self with secret
// to h served on 127.0.0.1 with examples/server's http.Server settings,
// one request at a time on one keep-alive connection, from a client in
// the same process: what benchtable's http rows measure, per request
// (run it under callgrind with GOMAXPROCS=1 to count instructions).
func benchStack(b *testing.B, h http.Handler, secret string, want int) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := benchhttp.Server(h)
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}
	b.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr}
	r, err := http.NewRequest("GET", "http://"+ln.Addr().String()+"/api/v4/personal_access_tokens/self", nil)
	if err != nil {
		b.Fatal(err)
	}
	r.Header.Set("PRIVATE-TOKEN", secret)
	do := func() {
		resp, err := client.Do(r)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			b.Fatalf("status %d, want %d", resp.StatusCode, want)
		}
	}
	do() // the connection is open, the token cached
	b.ReportAllocs()
	for b.Loop() {
		do()
	}
}

// stackAPI is examples/server's handler: the API under /api/v4/ of a
// ServeMux, logs at Warn, with or without the throttle.
func stackAPI(b *testing.B, throttle bool) (*env, http.Handler) {
	e := newEnv(b, func(po *patkit.Options, ho *httpapi.Options) {
		po.Now = time.Now
		ho.Logger = slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
		ho.ExternalURL = ""
		if throttle {
			ho.FailedAuthLimit = &httpapi.FailedAuthLimit{}
		}
	})
	return e, mounted(e.api)
}

// mounted is h under /api/v4/ of a ServeMux, as examples/server mounts
// the API.
func mounted(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/v4/", h)
	return mux
}

// BenchmarkStack is benchtable's http-bare and http-self/unknown rows on
// one connection: the bare handler (alone, and mounted as the API is), a
// valid token (with the throttle, as http-self) and an unknown
// well-formed one (without, as http-unknown).
func BenchmarkStack(b *testing.B) {
	b.Run("bare-ok", func(b *testing.B) {
		benchStack(b, benchhttp.Bare(), benchhttp.BareToken, http.StatusOK)
	})
	b.Run("bare-401", func(b *testing.B) {
		benchStack(b, benchhttp.Bare(), benchhttp.BareToken+"x", http.StatusUnauthorized)
	})
	// The bare handler mounted as examples/server mounts the API: what
	// the host's ServeMux costs either.
	b.Run("bare-ok-mux", func(b *testing.B) {
		benchStack(b, mounted(benchhttp.Bare()), benchhttp.BareToken, http.StatusOK)
	})
	b.Run("bare-401-mux", func(b *testing.B) {
		benchStack(b, mounted(benchhttp.Bare()), benchhttp.BareToken+"x", http.StatusUnauthorized)
	})
	b.Run("self", func(b *testing.B) {
		e, h := stackAPI(b, true)
		benchStack(b, h, validSecret(e), http.StatusOK)
	})
	b.Run("unknown", func(b *testing.B) {
		e, h := stackAPI(b, false)
		benchStack(b, h, unknownSecret(e), http.StatusUnauthorized)
	})
}

// BenchmarkServeBare is benchtable's bare handler as BenchmarkServeSelf
// and BenchmarkServeUnknown serve the API (in process, no connection):
// what those cost beyond it is httpapi's and the Service's.
func BenchmarkServeBare(b *testing.B) {
	for _, c := range []struct {
		name, token string
		want        int
	}{{"ok", benchhttp.BareToken, http.StatusOK}, {"401", benchhttp.BareToken + "x", http.StatusUnauthorized}} {
		b.Run(c.name, func(b *testing.B) {
			h := benchhttp.Bare()
			r, err := http.NewRequest("GET", "/api/v4/personal_access_tokens/self", nil)
			if err != nil {
				b.Fatal(err)
			}
			r.RemoteAddr = "127.0.0.1:40000"
			r.Header.Set("PRIVATE-TOKEN", c.token)
			w := benchhttp.NewDiscard()
			b.ReportAllocs()
			for b.Loop() {
				w.Reset()
				h.ServeHTTP(w, r)
				if w.Code != c.want && !(w.Code == 0 && c.want == http.StatusOK) {
					b.Fatalf("status %d, want %d", w.Code, c.want)
				}
			}
		})
	}
}

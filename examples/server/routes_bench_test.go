package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/internal/benchhttp"
	"github.com/patkit/patkit/internal/bootstrap"
	"github.com/patkit/patkit/memstore"
)

// BenchmarkRoutes is the server's handler, routes, answering GET
// /api/v4/personal_access_tokens/self in process on memstore, with the
// request log at INFO (the default: a line a request, into a buffer whose
// writes are discarded) and at WARN (none), for a valid token and an
// unknown one: what the server adds to a request beyond net/http, and
// what its log line costs. httpapi's BenchmarkServeBare is the bare
// handler of benchtable's HTTP rows, the same way.
func BenchmarkRoutes(b *testing.B) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelWarn} {
		for _, unknown := range []bool{false, true} {
			name := level.String() + "/self"
			if unknown {
				name = level.String() + "/unknown"
			}
			b.Run(name, func(b *testing.B) {
				svc := benchService(b)
				secret := rootSecret(b, svc)
				if unknown {
					secret = rootSecret(b, benchService(b)) // another instance's
				}
				h := routes(svc, slog.New(newLogHandler(newLogBuffer(io.Discard), level)), nil, 0)
				r, err := http.NewRequest("GET", "/api/v4/personal_access_tokens/self", nil)
				if err != nil {
					b.Fatal(err)
				}
				r.RequestURI, r.RemoteAddr = r.URL.Path, "127.0.0.1:40000"
				r.Header.Set("PRIVATE-TOKEN", secret)
				want := http.StatusOK
				if unknown {
					want = http.StatusUnauthorized
				}
				w := benchhttp.NewDiscard()
				b.ReportAllocs()
				for b.Loop() {
					w.Reset()
					h.ServeHTTP(w, r)
					if w.Code != want {
						b.Fatalf("status %d, want %d", w.Code, want)
					}
				}
			})
		}
	}
}

// benchService is the demo's Service on memstore.
func benchService(b *testing.B) *patkit.Service {
	svc, err := patkit.New(memstore.New(), demoDirectory(), make([]byte, 32), nil)
	if err != nil {
		b.Fatal(err)
	}
	return svc
}

// rootSecret is the administrator token the server would keep in its
// root-token file.
func rootSecret(b *testing.B, svc *patkit.Service) string {
	ctx := context.Background()
	root, err := svc.Principal(ctx, 1, true)
	if err != nil {
		b.Fatal(err)
	}
	file := b.TempDir() + "/root.token"
	if _, err := bootstrap.Ensure(ctx, svc, root, 1, file, slog.New(slog.DiscardHandler)); err != nil {
		b.Fatal(err)
	}
	secret, err := patkit.ReadSecretFile(file)
	if err != nil {
		b.Fatal(err)
	}
	return strings.TrimSpace(string(secret))
}

package pgstore_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/internal/listshape"
)

// BenchmarkGetByDigest measures the authentication lookup in a table of
// 10,000 tokens.
func BenchmarkGetByDigest(b *testing.B) {
	s := openStore(b, newSchema(b))
	const n = 10_000
	digests := make([][]byte, n)
	for i := range digests {
		tok := token(fmt.Sprint("bench ", i))
		if err := s.Create(b.Context(), tok); err != nil {
			b.Fatal(err)
		}
		digests[i] = tok.Digest
	}
	b.Run("Sequential", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := s.GetByDigest(b.Context(), digests[i%n]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Parallel", func(b *testing.B) {
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.GetByDigest(b.Context(), digests[next.Add(1)%n]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkCreate measures saving a new token.
func BenchmarkCreate(b *testing.B) {
	s := openStore(b, newSchema(b))
	var seq atomic.Int64
	create := func() error {
		tok := token(fmt.Sprint("create ", seq.Add(1)))
		return s.Create(b.Context(), tok)
	}
	b.Run("Sequential", func(b *testing.B) {
		for b.Loop() {
			if err := create(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := create(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkServiceAuthenticate measures Service.Authenticate on pgstore:
// Cached with the default options (the authentication cache answers, no
// round trip), Uncached with CacheSize -1 (one GetByDigest per call).
func BenchmarkServiceAuthenticate(b *testing.B) {
	s := openStore(b, newSchema(b))
	for _, c := range []struct {
		name string
		opts *patkit.Options
	}{
		{"Cached", nil},
		{"Uncached", &patkit.Options{CacheSize: -1}},
	} {
		b.Run(c.name, func(b *testing.B) {
			svc := newService(b, s, newDirectory(), c.opts)
			_, secret := createPAT(b, svc, "bench")
			ctx := b.Context()
			req := patkit.AuthRequest{RemoteIP: "10.0.0.1"}
			b.Run("Sequential", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := svc.Authenticate(ctx, secret, req); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Parallel", func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := svc.Authenticate(ctx, secret, req); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		})
	}
}

// BenchmarkServiceCreate measures Service.CreateToken on pgstore: a secret,
// its digest and one INSERT.
func BenchmarkServiceCreate(b *testing.B) {
	svc := newService(b, openStore(b, newSchema(b)), newDirectory(), nil)
	ctx := b.Context()
	o := patkit.TokenOptions{Name: "bench", Scopes: []patkit.Scope{patkit.ScopeAPI}}
	admin := admin(b, svc)
	b.Run("Sequential", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := svc.CreateToken(ctx, admin, 2, o); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := svc.CreateToken(ctx, admin, 2, o); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkListFirstPage is the shape of benchtable's http-list rows: an
// administrator's first page of 20 of every token, counted from the
// counters, on 1,000 tokens (the page is read from the top of one index,
// so its cost hardly depends on their number). Page and count are one
// round trip.
func BenchmarkListFirstPage(b *testing.B) {
	s := openStore(b, newSchema(b))
	const n = 1_000
	for i := range n {
		if err := s.Create(b.Context(), token(fmt.Sprint("list ", i))); err != nil {
			b.Fatal(err)
		}
	}
	listshape.BenchFirstPage(b, s, n)
}

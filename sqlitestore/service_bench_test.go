package sqlitestore_test

import (
	"testing"

	"github.com/patkit/patkit"
)

// Benchmarks of the Service on sqlitestore: what a host pays per request.

func benchService(b *testing.B, opts *patkit.Options) (*patkit.Service, *patkit.Principal) {
	b.Helper()
	dir := new(patkit.MemDirectory)
	dir.AddUser(patkit.User{ID: 1, Username: "root", Admin: true})
	dir.AddUser(patkit.User{ID: 2, Username: "alice"})
	svc, err := patkit.New(fill(b, 10_000), dir, []byte("benchmark key, 32 bytes or more.."), opts)
	if err != nil {
		b.Fatal(err)
	}
	root, err := svc.Principal(b.Context(), 1, false)
	if err != nil {
		b.Fatal(err)
	}
	return svc, root
}

func BenchmarkServiceAuthenticate(b *testing.B) {
	for _, c := range []struct {
		name string
		opts *patkit.Options
	}{{"cached", nil}, {"uncached", &patkit.Options{CacheSize: -1}}} {
		svc, root := benchService(b, c.opts)
		_, secret, err := svc.CreateToken(b.Context(), root, 2, patkit.TokenOptions{Name: "b", Scopes: []patkit.Scope{"api"}})
		if err != nil {
			b.Fatal(err)
		}
		auth := func() {
			if _, err := svc.Authenticate(b.Context(), secret, patkit.AuthRequest{RemoteIP: "10.0.0.1"}); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				auth()
			}
		})
		b.Run(c.name+"-parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					auth()
				}
			})
		})
	}
}

func BenchmarkServiceAuthenticateMalformed(b *testing.B) {
	svc, _ := benchService(b, nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.Authenticate(b.Context(), "glpat-0000000000000000000000000000000000", patkit.AuthRequest{}); err == nil {
			b.Fatal("accepted")
		}
	}
}

func BenchmarkServiceCreate(b *testing.B) {
	svc, root := benchService(b, nil)
	o := patkit.TokenOptions{Name: "b", Scopes: []patkit.Scope{"api"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := svc.CreateToken(b.Context(), root, 2, o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServiceListPage lists page 3 of an administrator's view of
// 100,000 tokens, active only, newest first.
func BenchmarkServiceListPage(b *testing.B) {
	dir := new(patkit.MemDirectory)
	dir.AddUser(patkit.User{ID: 1, Username: "root", Admin: true})
	svc, err := patkit.New(fill(b, 100_000), dir, []byte("benchmark key, 32 bytes or more.."), nil)
	if err != nil {
		b.Fatal(err)
	}
	root, err := svc.Principal(b.Context(), 1, false)
	if err != nil {
		b.Fatal(err)
	}
	f := patkit.Filter{State: patkit.StateActive, Sort: patkit.SortCreatedDesc, Page: 3, PerPage: 20}
	b.ReportAllocs()
	for b.Loop() {
		page, err := svc.ListTokens(b.Context(), root, f)
		if err != nil || len(page.Tokens) != 20 {
			b.Fatal(err)
		}
	}
}

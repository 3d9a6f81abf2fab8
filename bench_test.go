package patkit_test

import (
	"testing"
	"time"

	"github.com/patkit/patkit"
)

// Benchmarks of the Service on memstore; sqlitestore and pgstore have the
// same ones on their own storage.

func BenchmarkAuthenticate(b *testing.B) { benchAuthenticateParallel(b, nil) }

// BenchmarkAuthenticateEvents is BenchmarkAuthenticate with an event
// handler: a cached authentication from a known address emits nothing,
// so it should cost what BenchmarkAuthenticate does.
func BenchmarkAuthenticateEvents(b *testing.B) {
	benchAuthenticateParallel(b, &patkit.Options{OnEvent: func(patkit.Event) {}})
}

// benchAuthenticateParallel authenticates one cached token from every
// core, on a Service with opts.
func benchAuthenticateParallel(b *testing.B, opts *patkit.Options) {
	w := newWorld(b, opts)
	_, secret := w.pat(b, 2)
	ctx := b.Context()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := w.svc.Authenticate(ctx, secret, patkit.AuthRequest{RemoteIP: "10.0.0.1"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkCreateEvents is BenchmarkCreate with an event handler: the
// cost of emitting one event (token_created) per call.
func BenchmarkCreateEvents(b *testing.B) {
	w := newWorld(b, &patkit.Options{OnEvent: func(patkit.Event) {}})
	ctx := b.Context()
	o := patkit.TokenOptions{Name: "bench", Scopes: []patkit.Scope{patkit.ScopeAPI}}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := w.svc.CreateToken(ctx, w.root, 2, o); err != nil {
			b.Fatal(err)
		}
	}
	if st := w.svc.EventStats(); st.Dropped > 0 {
		b.ReportMetric(float64(st.Dropped)/float64(st.Dropped+st.Queued), "dropped/op")
	}
}

// BenchmarkAuthenticateSequential is BenchmarkAuthenticate on one
// goroutine.
func BenchmarkAuthenticateSequential(b *testing.B) {
	w := newWorld(b, nil)
	_, secret := w.pat(b, 2)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.svc.Authenticate(ctx, secret, patkit.AuthRequest{RemoteIP: "10.0.0.1"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticateUnknown presents a well-formed secret that no token
// has (anyone can compute the checksum).
func BenchmarkAuthenticateUnknown(b *testing.B) {
	w := newWorld(b, nil)
	w.pat(b, 2)
	unknown := patkit.UnknownSecret(w.svc)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.svc.Authenticate(ctx, unknown, patkit.AuthRequest{}); err == nil {
			b.Fatal("unknown secret accepted")
		}
	}
}

func BenchmarkAuthenticateMalformed(b *testing.B) {
	w := newWorld(b, nil)
	_, secret := w.pat(b, 2)
	bad := secret[:len(secret)-1] + "0"
	if bad == secret {
		bad = secret[:len(secret)-1] + "1"
	}
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.svc.Authenticate(ctx, bad, patkit.AuthRequest{}); err == nil {
			b.Fatal("malformed secret accepted")
		}
	}
}

func BenchmarkCreate(b *testing.B) {
	w := newWorld(b, nil)
	ctx := b.Context()
	o := patkit.TokenOptions{Name: "bench", Scopes: []patkit.Scope{patkit.ScopeAPI}}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := w.svc.CreateToken(ctx, w.root, 2, o); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkListPage(b *testing.B) {
	w := newWorld(b, nil)
	ctx := b.Context()
	for i := range 100_000 {
		tok := &patkit.Token{UserID: int64(2 + i%2), Name: "t", Scopes: []patkit.Scope{"api"},
			CreatedAt: t0.Add(time.Duration(i) * time.Second), ExpiresAt: date(2027, 1, 1), Digest: []byte{byte(i), byte(i >> 8), byte(i >> 16)}}
		if err := w.store.Store.Create(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
	f := patkit.Filter{State: patkit.StateActive, Sort: patkit.SortCreatedDesc, Page: 3, PerPage: 20}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		page, err := w.svc.ListTokens(ctx, w.alice, f)
		if err != nil || len(page.Tokens) != 20 {
			b.Fatal(err, len(page.Tokens))
		}
	}
}

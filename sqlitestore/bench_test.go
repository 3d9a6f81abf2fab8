package sqlitestore_test

import (
	"database/sql"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/internal/listshape"
	"github.com/patkit/patkit/sqlitestore"
)

// benchDigest is the digest of the i-th benchmark token.
func benchDigest(i int) []byte {
	d := make([]byte, 32)
	binary.BigEndian.PutUint64(d[24:], uint64(i))
	copy(d, "benchmark digest")
	return d
}

// fill opens a store on a new file holding n tokens: 100 owners, a quarter
// revoked, a third never expiring, half never used. The rows are inserted
// through a separate connection in one transaction, as Create would store
// them but far faster.
func fill(b *testing.B, n int) *sqlitestore.Store {
	b.Helper()
	return fillAt(b, filepath.Join(b.TempDir(), "bench.db"), n)
}

func fillAt(b *testing.B, path string, n int) *sqlitestore.Store {
	b.Helper()
	s := openPathB(b, path)
	db, err := sql.Open("sqlite", sqlitestore.DSN(path))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := b.Context()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO tokens (user_id, name, name_folded, scopes,
		created_at, expires_at, revoked, last_used_at, digest) VALUES (?, ?, ?, '["api"]', ?, ?, ?, ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		created := start.Add(time.Duration(i) * time.Minute)
		var expires, used any
		if i%3 != 0 {
			expires = patkit.Date(created.AddDate(0, 0, 30+i%365)).UnixMicro()
		}
		if i%2 == 0 {
			used = created.Add(time.Duration(i%1000) * time.Hour).UnixMicro()
		}
		name := fmt.Sprintf("token %d", i)
		if _, err := stmt.ExecContext(ctx, 1+i%100, name, name, created.UnixMicro(), expires, i%4 == 0, used, benchDigest(i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return s
}

func openPathB(b *testing.B, path string) *sqlitestore.Store {
	b.Helper()
	s, err := sqlitestore.Open(b.Context(), path, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkGetByDigest(b *testing.B) {
	const n = 10_000
	s := fill(b, n)
	ctx := b.Context()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := s.GetByDigest(ctx, benchDigest(i%n)); err != nil {
			b.Fatal(err)
		}
		i += 7919 // a prime: spread the lookups
	}
}

func BenchmarkGetByDigestParallel(b *testing.B) {
	const n = 10_000
	s := fill(b, n)
	ctx := b.Context()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := s.GetByDigest(ctx, benchDigest(i%n)); err != nil {
				b.Error(err)
				return
			}
			i += 7919
		}
	})
}

func BenchmarkListPage(b *testing.B) {
	s := fill(b, 100_000)
	no := false
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, bc := range []struct {
		name string
		q    patkit.Query
	}{
		// ~1,000 rows of one owner, counted exactly.
		{"user/created_desc", patkit.Query{UserID: 42, Filter: patkit.Filter{Sort: patkit.SortCreatedDesc, Page: 3, PerPage: 20}}},
		// ~75,000 rows: the count stops at 10,001.
		{"not_revoked/expires_asc", patkit.Query{Filter: patkit.Filter{Revoked: &no, Sort: patkit.SortExpiresAsc, Page: 3, PerPage: 20}}},
		{"active/last_used_desc", patkit.Query{Now: now, Filter: patkit.Filter{State: patkit.StateActive, Sort: patkit.SortLastUsedDesc, Page: 3, PerPage: 20}}},
		{"search/name_asc", patkit.Query{Filter: patkit.Filter{Search: "token 99", Sort: patkit.SortNameAsc, Page: 1, PerPage: 20}}},
	} {
		bc.q.Normalize() // as the Service does
		b.Run(bc.name, func(b *testing.B) {
			ctx := b.Context()
			for b.Loop() {
				q := bc.q
				got, _, err := s.List(ctx, &q)
				if err != nil {
					b.Fatal(err)
				}
				if len(got) != 20 {
					b.Fatalf("got %d tokens, want 20", len(got))
				}
			}
		})
	}
}

func BenchmarkCreate(b *testing.B) {
	s := openPathB(b, filepath.Join(b.TempDir(), "bench.db"))
	ctx := b.Context()
	i := 0
	for b.Loop() {
		tok := &patkit.Token{UserID: 1, Name: "t", CreatedAt: time.Now(), Digest: benchDigest(i)}
		if err := s.Create(ctx, tok); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkCreateParallel creates from 8×GOMAXPROCS goroutines on a Store
// from Open and one from New on a caller's pool; both commit in groups.
func BenchmarkCreateParallel(b *testing.B) {
	for _, bc := range []struct {
		name string
		open func(b *testing.B, path string) *sqlitestore.Store
	}{
		{"Open", openPathB},
		{"New", func(b *testing.B, path string) *sqlitestore.Store {
			db, err := sql.Open("sqlite", sqlitestore.DSN(path))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { db.Close() })
			s, err := sqlitestore.New(db, nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Migrate(b.Context()); err != nil {
				b.Fatal(err)
			}
			return s
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := bc.open(b, filepath.Join(b.TempDir(), "bench.db"))
			ctx := b.Context()
			var next atomic.Int64
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					tok := &patkit.Token{UserID: 1, Name: "t", CreatedAt: time.Now(), Digest: benchDigest(int(next.Add(1)))}
					if err := s.Create(ctx, tok); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkListFirstPage is the shape of the http-list rows of benchtable:
// an administrator's first page of 20 of every token, counted from the
// counters, on 10,000 tokens (the page is read from the top of one index,
// so its cost hardly depends on their number).
func BenchmarkListFirstPage(b *testing.B) {
	listshape.BenchFirstPage(b, fill(b, 10_000), 10_000)
}

package sqlitestore_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/sqlitestore"
)

// The write benchmarks run b.N writes from 1 and from 16 goroutines and
// report writes/s. Durable is the default (synchronous=FULL: every commit
// waits for the disk); Relaxed is Options.RelaxedDurability. The files
// are in b.TempDir(), so $TMPDIR must be on the disk being measured.

func BenchmarkDurableCreate(b *testing.B) { benchCreate(b, nil) }
func BenchmarkDurableRevoke(b *testing.B) { benchRevoke(b, nil) }
func BenchmarkRelaxedCreate(b *testing.B) {
	benchCreate(b, &sqlitestore.Options{RelaxedDurability: true})
}
func BenchmarkRelaxedRevoke(b *testing.B) {
	benchRevoke(b, &sqlitestore.Options{RelaxedDurability: true})
}

var benchWriters = []int{1, 16}

func benchCreate(b *testing.B, opts *sqlitestore.Options) {
	for _, writers := range benchWriters {
		b.Run(fmt.Sprintf("Writers-%d", writers), func(b *testing.B) {
			s, err := sqlitestore.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"), opts)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			now := time.Now()
			runWriters(b, writers, func(i int) error {
				return s.Create(b.Context(), &patkit.Token{UserID: 1, Name: "t", CreatedAt: now, Digest: benchDigest(i)})
			})
		})
	}
}

func benchRevoke(b *testing.B, opts *sqlitestore.Options) {
	for _, writers := range benchWriters {
		b.Run(fmt.Sprintf("Writers-%d", writers), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "bench.db")
			fillAt(b, path, b.N).Close() // token IDs 1 to b.N
			s, err := sqlitestore.Open(b.Context(), path, opts)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			runWriters(b, writers, func(i int) error { return s.Revoke(b.Context(), int64(i+1), time.Now()) })
		})
	}
}

// runWriters calls write(i) for i from 0 to b.N-1 from n goroutines,
// timed, and reports the rate.
func runWriters(b *testing.B, n int, write func(i int) error) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range n {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				if err := write(int(i)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

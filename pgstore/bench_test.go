package pgstore_test

import (
	"fmt"
	"sync/atomic"
	"testing"
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

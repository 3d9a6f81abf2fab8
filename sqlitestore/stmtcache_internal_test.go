package sqlitestore

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/patkit/patkit"
)

// TestListStatementCache: more list shapes than the cache holds, listed
// concurrently, all succeed (a statement dropped from the cache while a
// List uses it is closed only after), the cache stays bounded, and every
// statement is closed with the Store.
func TestListStatementCache(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "patkit.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range 30 {
		tok := &patkit.Token{UserID: int64(1 + i%3), Name: fmt.Sprint("t", i), CreatedAt: now,
			ExpiresAt: now.AddDate(0, 0, i), Impersonation: i%5 == 0, Digest: []byte(fmt.Sprint("d", i))}
		if err := s.Create(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	var queries []*patkit.Query
	for _, sort := range []patkit.Sort{patkit.SortDefault, patkit.SortCreatedAsc, patkit.SortCreatedDesc, patkit.SortExpiresAsc,
		patkit.SortExpiresDesc, patkit.SortLastUsedAsc, patkit.SortLastUsedDesc, patkit.SortNameAsc, patkit.SortNameDesc} {
		for _, state := range []patkit.State{"", patkit.StateActive, patkit.StateInactive} {
			for _, user := range []int64{0, 2} {
				for _, imp := range []*bool{nil, new(true), new(false)} {
					q := &patkit.Query{Filter: patkit.Filter{Sort: sort, State: state, PerPage: 5, Page: 2}, UserID: user, Impersonation: imp, Now: now}
					q.Normalize()
					queries = append(queries, q)
				}
			}
		}
	}
	if len(queries) <= maxListStmts {
		t.Fatalf("%d shapes: not enough to overflow the cache", len(queries))
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range queries {
				q := queries[(i+g*len(queries)/4)%len(queries)]
				if _, _, err := s.List(t.Context(), q); err != nil {
					t.Errorf("List: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	s.listStmts.mu.Lock()
	n := len(s.listStmts.m)
	s.listStmts.mu.Unlock()
	if n > maxListStmts {
		t.Errorf("%d statements cached, at most %d wanted", n, maxListStmts)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.List(t.Context(), queries[0]); err == nil {
		t.Error("List after Close succeeded")
	}
}

package sqlq_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/internal/sqlq"
)

var dialect = sqlq.Dialect{
	Param:      func(int) string { return "?" },
	Time:       func(t time.Time) any { return t.UnixMicro() },
	Never:      "9223372036854775807",
	FoldedName: "name_folded",
	NameLike:   "name_folded LIKE",
	SortName:   "name",
}

// TestCount checks which queries the counters answer, which of their
// counters they add up, and that the others walk as List's count does.
func TestCount(t *testing.T) {
	no, yes := new(false), new(true)
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	type F = patkit.Filter
	for _, tt := range []struct {
		name string
		q    patkit.Query
		sum  string // the counters added up, "" for a walk
		args []any
	}{
		{"All", patkit.Query{}, "n + n_revoked + n_imp + n_imp_revoked", []any{0, "", int64(0)}},
		{"AllSorted", patkit.Query{Filter: F{Sort: patkit.SortNameDesc, Page: 7}}, "n + n_revoked + n_imp + n_imp_revoked", []any{0, "", int64(0)}},
		{"NotRevoked", patkit.Query{Filter: F{Revoked: no}}, "n + n_imp", []any{0, "", int64(0)}},
		{"Revoked", patkit.Query{Filter: F{Revoked: yes}}, "n_revoked + n_imp_revoked", []any{0, "", int64(0)}},
		{"UserPersonal", patkit.Query{UserID: 7, Impersonation: no}, "n + n_revoked", []any{1, "", int64(7)}},
		{"UserImpersonationRevoked", patkit.Query{UserID: 7, Impersonation: yes, Filter: F{Revoked: yes}}, "n_imp_revoked", []any{1, "", int64(7)}},
		{"Project", patkit.Query{ResourceType: patkit.ResourceProject, ResourceID: 3, Impersonation: no}, "n + n_revoked", []any{2, "project", int64(3)}},
		{"GroupNotRevoked", patkit.Query{ResourceType: patkit.ResourceGroup, ResourceID: 4, Filter: F{Revoked: no}}, "n + n_imp", []any{2, "group", int64(4)}},
		{"BlankSearch", patkit.Query{Filter: F{Search: "   "}}, "n + n_revoked + n_imp + n_imp_revoked", []any{0, "", int64(0)}},
		{"Active", patkit.Query{Filter: F{State: patkit.StateActive}, Now: now}, "", nil},
		{"Inactive", patkit.Query{UserID: 7, Filter: F{State: patkit.StateInactive}, Now: now}, "", nil},
		{"CreatedBefore", patkit.Query{Filter: F{CreatedBefore: now}}, "", nil},
		{"CreatedAfter", patkit.Query{Filter: F{CreatedAfter: now}}, "", nil},
		{"LastUsedBefore", patkit.Query{Filter: F{LastUsedBefore: now}}, "", nil},
		{"LastUsedAfter", patkit.Query{Filter: F{LastUsedAfter: now}}, "", nil},
		{"ExpiresBefore", patkit.Query{Filter: F{ExpiresBefore: now}}, "", nil},
		{"ExpiresAfter", patkit.Query{Filter: F{ExpiresAfter: now}}, "", nil},
		{"SearchWord", patkit.Query{Filter: F{Search: "deploy"}}, "", nil},
		{"SearchExact", patkit.Query{Filter: F{Search: "ab"}}, "", nil},
		{"PreviousID", patkit.Query{PreviousID: 9}, "", nil},
		{"UserAndResource", patkit.Query{UserID: 7, ResourceType: patkit.ResourceProject, ResourceID: 3}, "", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			q.Normalize()
			query, args, counted := dialect.Count("tokens", "token_counts", &q)
			if counted != (tt.sum != "") {
				t.Fatalf("counted = %v for %s", counted, query)
			}
			if !counted {
				_, _, walk, walkArgs := dialect.List("id", "tokens", &q)
				if query != walk || !cmp.Equal(args, walkArgs) {
					t.Errorf("Count = %s %v, want List's count %s %v", query, args, walk, walkArgs)
				}
				return
			}
			if !strings.Contains(query, "sum("+tt.sum+")") || !strings.Contains(query, " FROM token_counts WHERE ") ||
				!strings.Contains(query, "THEN 10001") {
				t.Errorf("Count = %s, want the sum of %s, capped", query, tt.sum)
			}
			if !cmp.Equal(args, tt.args) {
				t.Errorf("args = %v, want %v", args, tt.args)
			}
		})
	}
}

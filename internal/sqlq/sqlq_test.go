package sqlq_test

import (
	"fmt"
	"slices"
	"strconv"
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
	NameContains: func(word, p string) (string, any) {
		return "name_folded LIKE " + p + ` ESCAPE '\'`, sqlq.LikePattern(word)
	},
	SortName: "name",
}

// TestCountStates checks the counters that the count of a state adds up:
// the active tokens are those of the expiry counters after now (from the
// microsecond after it), the inactive ones the others.
func TestCountStates(t *testing.T) {
	no, yes := new(false), new(true)
	now := time.Date(2026, 12, 1, 13, 14, 15, 16171, time.UTC)
	next := sqlq.NextBlock(now).UnixMicro()
	active := func(cols string) string {
		return "SELECT " + cols + " AS v FROM token_expiry_counts WHERE scope = ? AND resource_type = ? AND id = ? " +
			"AND level = 0 AND expires_at >= ? AND expires_at < ? UNION ALL SELECT " + cols + " AS v FROM token_expiry_counts " +
			"WHERE scope = ? AND resource_type = ? AND id = ? AND level = 1 AND expires_at >= ?"
	}
	all := func(cols string) string {
		return "SELECT " + cols + " AS v FROM token_counts WHERE scope = ? AND resource_type = ? AND id = ?"
	}
	nowArgs := func(scope ...any) []any {
		return append(append(append(scope, now.UnixMicro()+1, next), scope...), next)
	}
	type F = patkit.Filter
	for _, tt := range []struct {
		name  string
		q     patkit.Query
		terms string // the terms the count adds up
		args  []any
	}{
		{"Active", patkit.Query{Filter: F{State: patkit.StateActive}}, active("(n + n_imp)"), nowArgs(0, "", int64(0))},
		{"ActiveNotRevoked", patkit.Query{UserID: 7, Impersonation: no, Filter: F{State: patkit.StateActive, Revoked: no}},
			active("(n)"), nowArgs(1, "", int64(7))},
		{"ActiveImpersonation", patkit.Query{UserID: 7, Impersonation: yes, Filter: F{State: patkit.StateActive}},
			active("(n_imp)"), nowArgs(1, "", int64(7))},
		{"ActiveRevoked", patkit.Query{Filter: F{State: patkit.StateActive, Revoked: yes}}, "SELECT 0 AS v", nil},
		{"Inactive", patkit.Query{ResourceType: patkit.ResourceProject, ResourceID: 3, Impersonation: no, Filter: F{State: patkit.StateInactive}},
			all("n + n_revoked") + " UNION ALL " + active("-(n)"),
			append([]any{2, "project", int64(3)}, nowArgs(2, "project", int64(3))...)},
		{"InactiveNotRevoked", patkit.Query{Filter: F{State: patkit.StateInactive, Revoked: no}},
			all("n + n_imp") + " UNION ALL " + active("-(n + n_imp)"), append([]any{0, "", int64(0)}, nowArgs(0, "", int64(0))...)},
		{"InactiveRevoked", patkit.Query{UserID: 7, Filter: F{State: patkit.StateInactive, Revoked: yes}},
			all("n_revoked + n_imp_revoked"), []any{1, "", int64(7)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			q.Now = now
			q.Normalize()
			query, args, counted := dialect.Count(sqlq.Tables{Tokens: "tokens", Counts: "token_counts", Expiries: "token_expiry_counts"}, &q)
			want := "SELECT CASE WHEN total > 10000 THEN 10001 ELSE total END FROM (SELECT CAST(coalesce(sum(v), 0) AS bigint) AS total FROM (" +
				tt.terms + ") AS terms) AS counted"
			if !counted || query != want {
				t.Errorf("Count = %v\n%s\nwant\n%s", counted, query, want)
			}
			if !cmp.Equal(args, tt.args) {
				t.Errorf("args = %v, want %v", args, tt.args)
			}
		})
	}
}

// TestNextBlock checks the start of the block after that of a time: the
// blocks are ExpiryBlock long from the Unix epoch, before it too, and the
// time rounds down to a microsecond.
func TestNextBlock(t *testing.T) {
	epoch := time.Unix(0, 0).UTC()
	b := sqlq.ExpiryBlock
	for _, tt := range []struct{ t, want time.Time }{
		{epoch, epoch.Add(b)},
		{epoch.Add(-time.Nanosecond), epoch}, // rounds down to -1µs
		{epoch.Add(-time.Microsecond), epoch},
		{epoch.Add(-b), epoch},
		{epoch.Add(-b - time.Microsecond), epoch.Add(-b)},
		{epoch.Add(b - time.Microsecond), epoch.Add(b)},
		{epoch.Add(b - time.Nanosecond), epoch.Add(b)}, // rounds down to b - 1µs
		{time.Date(2026, 12, 1, 13, 0, 0, 0, time.FixedZone("X", 3600)), time.Date(2026, 12, 13, 0, 0, 0, 0, time.UTC)},
		{time.Date(2026, 12, 13, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 14, 0, 0, 0, 0, time.UTC)},
	} {
		if got := sqlq.NextBlock(tt.t); !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("NextBlock(%v) = %v, want %v", tt.t, got, tt.want)
		}
	}
	// Any time, the zero Time too, is in the block before the next one.
	for _, at := range []time.Time{{}, time.Date(1900, 3, 4, 5, 6, 7, 8, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)} {
		next := sqlq.NextBlock(at)
		if !next.Add(-b).After(at) && next.After(at) && next.UnixMicro()%b.Microseconds() == 0 {
			continue
		}
		t.Errorf("NextBlock(%v) = %v: not the start of the block after that of %[1]v", at, next)
	}
}

// TestCount checks which queries the counters answer, which of their
// counters they add up, and that the others walk the matches, up to
// patkit.MaxCount+1.
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
		{"CreatedBefore", patkit.Query{Filter: F{CreatedBefore: now}}, "", nil},
		{"CreatedAfter", patkit.Query{Filter: F{CreatedAfter: now}}, "", nil},
		{"LastUsedBefore", patkit.Query{Filter: F{LastUsedBefore: now}}, "", nil},
		{"LastUsedAfter", patkit.Query{Filter: F{LastUsedAfter: now}}, "", nil},
		{"ExpiresBeforeCreatedAfter", patkit.Query{Filter: F{ExpiresBefore: now, CreatedAfter: now}}, "", nil},
		{"ExpiresAfterPersonal", patkit.Query{Filter: F{ExpiresAfter: now, Kind: patkit.KindPersonal}}, "", nil},
		{"SearchWord", patkit.Query{Filter: F{Search: "deploy"}}, "", nil},
		{"SearchExact", patkit.Query{Filter: F{Search: "ab"}}, "", nil},
		{"PreviousID", patkit.Query{PreviousID: 9}, "", nil},
		{"UserAndResource", patkit.Query{UserID: 7, ResourceType: patkit.ResourceProject, ResourceID: 3}, "", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			q.Normalize()
			query, args, counted := dialect.Count(sqlq.Tables{Tokens: "tokens", Counts: "token_counts", Expiries: "token_expiry_counts"}, &q)
			if counted != (tt.sum != "") {
				t.Fatalf("counted = %v for %s", counted, query)
			}
			if !counted {
				where, whereArgs := dialect.Where(&q)
				walk := "SELECT count(*) FROM (SELECT 1 FROM tokens" + where + " LIMIT 10001) AS matches"
				if query != walk || !cmp.Equal(args, whereArgs) {
					t.Errorf("Count = %s %v, want the walk of the matches %s %v", query, args, walk, whereArgs)
				}
				return
			}
			if !strings.Contains(query, "SELECT "+tt.sum+" AS v FROM token_counts WHERE ") ||
				!strings.Contains(query, "THEN 10001") {
				t.Errorf("Count = %s, want the sum of %s, capped", query, tt.sum)
			}
			if !cmp.Equal(args, tt.args) {
				t.Errorf("args = %v, want %v", args, tt.args)
			}
		})
	}
}

// TestCountExpiryBounds checks the counters that a count bounded by
// expiry adds up: the level-0 rows (a day each) of the parts of the range
// that do not cover a whole block, the level-1 rows (a block each) of
// those it covers, never the tokens that never expire, and, for a state,
// the range cut at now.
func TestCountExpiryBounds(t *testing.T) {
	no, yes := new(false), new(true)
	now := time.Date(2026, 12, 1, 13, 14, 15, 16171, time.UTC)
	b := sqlq.NextBlock(now) // 2026-12-13, the block after now's
	a, c := b.Add(-sqlq.ExpiryBlock), b.Add(sqlq.ExpiryBlock)
	const day = 24 * time.Hour
	after := now.Truncate(time.Microsecond).Add(time.Microsecond)
	type term struct {
		cols   string
		level  int
		lo, hi time.Time // zero for none
	}
	type F = patkit.Filter
	all := "n + n_revoked + n_imp + n_imp_revoked"
	for _, tt := range []struct {
		name  string
		f     F
		imp   *bool
		terms []term
	}{
		{"BeforeInBlock", F{ExpiresBefore: b.Add(5 * day)}, nil, []term{{all, 1, time.Time{}, b}, {all, 0, b, b.Add(5 * day)}}},
		{"BeforeBlockStart", F{ExpiresBefore: b}, nil, []term{{all, 1, time.Time{}, b}}},
		{"AfterInBlock", F{ExpiresAfter: a.Add(3 * day)}, nil, []term{{all, 0, a.Add(3 * day), b}, {all, 1, b, time.Time{}}}},
		{"WithinOneBlock", F{ExpiresAfter: a.Add(3 * day), ExpiresBefore: a.Add(10 * day)}, nil, []term{{all, 0, a.Add(3 * day), a.Add(10 * day)}}},
		{"AcrossBlocks", F{ExpiresAfter: a.Add(3 * day), ExpiresBefore: c.Add(2 * day)}, nil,
			[]term{{all, 0, a.Add(3 * day), b}, {all, 1, b, c}, {all, 0, c, c.Add(2 * day)}}},
		{"AdjacentBlocks", F{ExpiresAfter: a.Add(3 * day), ExpiresBefore: b.Add(2 * day)}, no,
			[]term{{"n + n_revoked", 0, a.Add(3 * day), b}, {"n + n_revoked", 0, b, b.Add(2 * day)}}},
		{"Empty", F{ExpiresAfter: b, ExpiresBefore: a}, nil, nil},
		{"ActiveBefore", F{State: patkit.StateActive, ExpiresBefore: c.Add(2 * day)}, nil,
			[]term{{"n + n_imp", 0, after, b}, {"n + n_imp", 1, b, c}, {"n + n_imp", 0, c, c.Add(2 * day)}}},
		{"ActiveRevokedBefore", F{State: patkit.StateActive, Revoked: yes, ExpiresBefore: c}, nil, nil},
		{"InactiveAfter", F{State: patkit.StateInactive, ExpiresAfter: a.Add(3 * day)}, no,
			[]term{{"n_revoked", 0, a.Add(3 * day), b}, {"n_revoked", 1, b, time.Time{}}, {"n", 0, a.Add(3 * day), after}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := patkit.Query{UserID: 7, Impersonation: tt.imp, Filter: tt.f, Now: now}
			q.Normalize()
			query, args, counted := dialect.Count(sqlq.Tables{Tokens: "tokens", Counts: "token_counts", Expiries: "token_expiry_counts"}, &q)
			var terms []string
			var wantArgs []any
			for _, tm := range tt.terms {
				s := "SELECT (" + tm.cols + ") AS v FROM token_expiry_counts WHERE scope = ? AND resource_type = ? AND id = ? AND level = " + strconv.Itoa(tm.level)
				wantArgs = append(wantArgs, 1, "", int64(7))
				if !tm.lo.IsZero() {
					s += " AND expires_at >= ?"
					wantArgs = append(wantArgs, tm.lo.UnixMicro())
				}
				if !tm.hi.IsZero() {
					s += " AND expires_at < ?"
					wantArgs = append(wantArgs, tm.hi.UnixMicro())
				} else {
					s += " AND expires_at < 9223372036854775807"
				}
				terms = append(terms, s)
			}
			if len(terms) == 0 {
				terms = []string{"SELECT 0 AS v"}
			}
			want := "SELECT CASE WHEN total > 10000 THEN 10001 ELSE total END FROM (SELECT CAST(coalesce(sum(v), 0) AS bigint) AS total FROM (" +
				strings.Join(terms, " UNION ALL ") + ") AS terms) AS counted"
			if !counted || query != want {
				t.Errorf("Count = %v\n%s\nwant\n%s", counted, query, want)
			}
			if !cmp.Equal(args, wantArgs) {
				t.Errorf("args = %v, want %v", args, wantArgs)
			}
		})
	}
}

// TestCountCreated checks the count of a list of all tokens bounded on
// creation where the store has zones: the counters of the other filters,
// less 1,024 tokens for each zone that may hold a token created out of the
// bounds, answer "more than 10,000" when that is above it; the walk of the
// matches counts otherwise. Without zones, for one owner or resource, or
// with a bound on last use, the count is the walk alone.
func TestCountCreated(t *testing.T) {
	no := new(false)
	now := time.Date(2026, 12, 1, 13, 14, 15, 16171, time.UTC)
	after, before := now.Add(-90*24*time.Hour), now.Add(-time.Nanosecond)
	all := "SELECT CAST(coalesce(sum(v), 0) AS bigint) AS total FROM (SELECT n + n_revoked + n_imp + n_imp_revoked AS v FROM token_counts WHERE scope = ? AND resource_type = ? AND id = ?) AS terms"
	notRevoked := "SELECT CAST(coalesce(sum(v), 0) AS bigint) AS total FROM (SELECT n + n_imp AS v FROM token_counts WHERE scope = ? AND resource_type = ? AND id = ?) AS terms"
	type F = patkit.Filter
	for _, tt := range []struct {
		name    string
		q       patkit.Query
		zones   string
		total   string // the counters' total, "" for the walk alone
		outside string
		args    []any // those of the counters and the zones
	}{
		// Bounds finer than a microsecond round as the walk's do: up for
		// an inclusive lower bound, down for an upper one.
		{"After", patkit.Query{Filter: F{CreatedAfter: after}}, "token_zones", all, "created_lo < ?",
			[]any{0, "", int64(0), after.Truncate(time.Microsecond).Add(time.Microsecond).UnixMicro()}},
		{"Before", patkit.Query{Filter: F{CreatedBefore: before}}, "token_zones", all, "created_hi > ?",
			[]any{0, "", int64(0), before.Truncate(time.Microsecond).UnixMicro()}},
		{"Between", patkit.Query{Filter: F{CreatedAfter: after.Add(time.Nanosecond), CreatedBefore: before, Revoked: no}}, "token_zones", notRevoked,
			"created_hi > ? OR created_lo < ?",
			[]any{0, "", int64(0), before.Truncate(time.Microsecond).UnixMicro(), after.Add(time.Microsecond).UnixMicro()}},
		{"NoZones", patkit.Query{Filter: F{CreatedAfter: after}}, "", "", "", nil},
		{"User", patkit.Query{UserID: 7, Filter: F{CreatedAfter: after}}, "token_zones", "", "", nil},
		{"Resource", patkit.Query{ResourceType: patkit.ResourceProject, ResourceID: 3, Filter: F{CreatedAfter: after}}, "token_zones", "", "", nil},
		{"LastUsedToo", patkit.Query{Filter: F{CreatedAfter: after, LastUsedAfter: after}}, "token_zones", "", "", nil},
		{"SearchToo", patkit.Query{Filter: F{CreatedAfter: after, Search: "deploy"}}, "token_zones", "", "", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			q.Now = now
			q.Normalize()
			query, args, counted := dialect.Count(sqlq.Tables{Tokens: "tokens", Counts: "token_counts", Expiries: "token_expiry_counts", Zones: tt.zones}, &q)
			where, whereArgs := dialect.Where(&q)
			walk := "SELECT count(*) FROM (SELECT 1 FROM tokens" + where + " LIMIT 10001) AS matches"
			want, wantArgs := walk, whereArgs
			if tt.total != "" {
				want = "SELECT CASE WHEN (" + tt.total + ") - 1024 * (SELECT count(*) FROM token_zones WHERE " + tt.outside +
					") > 10000 THEN 10001 ELSE (" + walk + ") END"
				wantArgs = append(slices.Clip(tt.args), whereArgs...)
			}
			if counted || query != want {
				t.Errorf("Count = %v\n%s\nwant\n%s", counted, query, want)
			}
			if !cmp.Equal(args, wantArgs) {
				t.Errorf("args = %v, want %v", args, wantArgs)
			}
		})
	}
}

// TestCountUsed checks the count of a list of all tokens bounded on last
// use where the store counts uses by day (the uses table): the counters of
// the other filters, less every token, plus the tokens last used in the
// blocks of 32 days (level 1) and the days (level 0) that lie whole within
// the bounds, capped, or the walk where that is not above MaxCount.
// Without that table, for one owner or resource, and where no whole day
// lies within the bounds, the count is the walk alone.
func TestCountUsed(t *testing.T) {
	no := new(false)
	day := func(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, time.UTC) }
	// Days from 1970-01-01: 2026-12-01 is 20788, in the block 649 (from
	// day 20768, 2026-11-11); 2026-09-02 is 20698, in the block 646 (to
	// day 20703).
	all := "SELECT n + n_revoked + n_imp + n_imp_revoked AS v FROM token_counts WHERE scope = ? AND resource_type = ? AND id = ?"
	every := "SELECT -(n + n_revoked + n_imp + n_imp_revoked) AS v FROM token_counts WHERE scope = ? AND resource_type = ? AND id = ?"
	scope := []any{0, "", int64(0)}
	type part struct {
		sql  string
		args []any
	}
	blocksTo := func(b int64) part { return part{"level = 1 AND key <= ?", []any{b}} }
	blocksFrom := func(b int64) part { return part{"level = 1 AND key >= ?", []any{b}} }
	blocks := func(lo, hi int64) part { return part{"level = 1 AND key >= ? AND key <= ?", []any{lo, hi}} }
	days := func(lo, hi int64) part { return part{"level = 0 AND key >= ? AND key <= ?", []any{lo, hi}} }
	type F = patkit.Filter
	for _, tt := range []struct {
		name  string
		q     patkit.Query
		uses  string
		other string // the counters of the other filters; "" for the walk alone
		parts []part
	}{
		{"BeforeMidday", patkit.Query{Filter: F{LastUsedBefore: day(2026, 12, 1, 13).Add(16171 * time.Nanosecond)}}, "token_use_counts", all,
			[]part{blocksTo(648), days(20768, 20787)}},
		// A bound a microsecond before midnight keeps the whole day before.
		{"BeforeMidnight", patkit.Query{Filter: F{LastUsedBefore: day(2026, 12, 1, 0).Add(-time.Nanosecond)}}, "token_use_counts", all,
			[]part{blocksTo(648), days(20768, 20787)}},
		{"BeforeBlock", patkit.Query{Filter: F{LastUsedBefore: day(2026, 11, 11, 0).Add(-time.Microsecond)}}, "token_use_counts", all,
			[]part{blocksTo(648)}},
		{"AfterMidnight", patkit.Query{Filter: F{LastUsedAfter: day(2026, 9, 2, 0)}}, "token_use_counts", all,
			[]part{blocksFrom(647), days(20698, 20703)}},
		{"AfterMidnightAndAMicrosecond", patkit.Query{Filter: F{LastUsedAfter: day(2026, 9, 2, 0).Add(time.Nanosecond), Revoked: no}},
			"token_use_counts", "SELECT n + n_imp AS v FROM token_counts WHERE scope = ? AND resource_type = ? AND id = ?",
			[]part{blocksFrom(647), days(20699, 20703)}},
		{"Between", patkit.Query{Filter: F{LastUsedAfter: day(2026, 9, 2, 0), LastUsedBefore: day(2026, 12, 1, 13)}}, "token_use_counts", all,
			[]part{blocks(647, 648), days(20698, 20703), days(20768, 20787)}},
		{"WithinABlock", patkit.Query{Filter: F{LastUsedAfter: day(2026, 11, 20, 0), LastUsedBefore: day(2026, 11, 25, 0)}}, "token_use_counts", all,
			[]part{days(20777, 20781)}},
		{"Before1970", patkit.Query{Filter: F{LastUsedBefore: day(1969, 12, 31, 12)}}, "token_use_counts", all,
			[]part{blocksTo(-2), days(-32, -2)}},
		{"NoWholeDay", patkit.Query{Filter: F{LastUsedAfter: day(2026, 12, 1, 1), LastUsedBefore: day(2026, 12, 1, 23)}}, "token_use_counts", "", nil},
		{"NoUses", patkit.Query{Filter: F{LastUsedAfter: day(2026, 9, 2, 0)}}, "", "", nil},
		{"User", patkit.Query{UserID: 7, Filter: F{LastUsedAfter: day(2026, 9, 2, 0)}}, "token_use_counts", "", nil},
		{"Resource", patkit.Query{ResourceType: patkit.ResourceGroup, ResourceID: 3, Filter: F{LastUsedAfter: day(2026, 9, 2, 0)}}, "token_use_counts", "", nil},
		{"SearchToo", patkit.Query{Filter: F{LastUsedAfter: day(2026, 9, 2, 0), Search: "deploy"}}, "token_use_counts", "", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			q.Now = day(2026, 12, 1, 14)
			q.Normalize()
			query, args, counted := dialect.Count(sqlq.Tables{Tokens: "tokens", Counts: "token_counts", Expiries: "token_expiry_counts", Uses: tt.uses}, &q)
			where, whereArgs := dialect.Where(&q)
			walk := "SELECT count(*) FROM (SELECT 1 FROM tokens" + where + " LIMIT 10001) AS matches"
			want, wantArgs := walk, whereArgs
			if tt.other != "" {
				terms := []string{tt.other, every}
				wantArgs = append(append([]any{}, scope...), scope...)
				for _, p := range tt.parts {
					terms = append(terms, "SELECT n AS v FROM token_use_counts WHERE "+p.sql)
					wantArgs = append(wantArgs, p.args...)
				}
				want = "SELECT CASE WHEN (SELECT CAST(coalesce(sum(v), 0) AS bigint) AS total FROM (" + strings.Join(terms, " UNION ALL ") +
					") AS terms) > 10000 THEN 10001 ELSE (" + walk + ") END"
				wantArgs = append(wantArgs, whereArgs...)
			}
			if counted || query != want {
				t.Errorf("Count = %v\n%s\nwant\n%s", counted, query, want)
			}
			if !cmp.Equal(args, wantArgs) {
				t.Errorf("args = %v, want %v", args, wantArgs)
			}
		})
	}
}

// TestCountWords checks the count of a search of all tokens by one word
// where the store counts the tokens by the words of their names (the
// words table): the counters of the other filters, less every token,
// plus the tokens whose name holds the word, capped, or the walk where
// that is not above MaxCount; with a bound on last use too, both
// subtractions. Without that table, for one owner or resource, for two
// words, a phrase or an exact name, the count is the walk alone.
func TestCountWords(t *testing.T) {
	no := new(false)
	now := time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC)
	all := "SELECT n + n_revoked + n_imp + n_imp_revoked AS v FROM token_counts WHERE scope = ? AND resource_type = ? AND id = ?"
	every := "SELECT -(n + n_revoked + n_imp + n_imp_revoked) AS v FROM token_counts WHERE scope = ? AND resource_type = ? AND id = ?"
	notRevoked := "SELECT n + n_imp AS v FROM token_counts WHERE scope = ? AND resource_type = ? AND id = ?"
	word := "SELECT n AS v FROM tokens_words WHERE word = ?"
	scope := []any{0, "", int64(0)}
	type F = patkit.Filter
	for _, tt := range []struct {
		name  string
		q     patkit.Query
		words string
		terms []string // the bound's terms; none for the walk alone
		args  []any
	}{
		{"Word", patkit.Query{Filter: F{Search: "Deploy"}}, "tokens_words",
			[]string{all, every, word}, append(append(append([]any{}, scope...), scope...), "deploy")},
		{"NotRevoked", patkit.Query{Filter: F{Search: "deploy", Revoked: no}}, "tokens_words",
			[]string{notRevoked, every, word}, append(append(append([]any{}, scope...), scope...), "deploy")},
		{"UsedToo", patkit.Query{Filter: F{Search: "deploy", LastUsedAfter: now.AddDate(0, 0, -3).Truncate(24 * time.Hour)}}, "tokens_words",
			[]string{all, every, "SELECT n AS v FROM token_use_counts WHERE level = 1 AND key >= ?",
				"SELECT n AS v FROM token_use_counts WHERE level = 0 AND key >= ? AND key <= ?", every, word},
			append(append(append(append([]any{}, scope...), scope...), int64(650), int64(20785), int64(20799), 0, "", int64(0)), "deploy")},
		{"NoWords", patkit.Query{Filter: F{Search: "deploy"}}, "", nil, nil},
		{"TwoWords", patkit.Query{Filter: F{Search: "deploy key"}}, "tokens_words", nil, nil},
		{"Phrase", patkit.Query{Filter: F{Search: `"deploy key"`}}, "tokens_words", nil, nil},
		{"Exact", patkit.Query{Filter: F{Search: "ci"}}, "tokens_words", nil, nil},
		{"User", patkit.Query{UserID: 7, Filter: F{Search: "deploy"}}, "tokens_words", nil, nil},
		{"Resource", patkit.Query{ResourceType: patkit.ResourceProject, ResourceID: 3, Filter: F{Search: "deploy"}}, "tokens_words", nil, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			q.Now = now
			q.Normalize()
			query, args, counted := dialect.Count(sqlq.Tables{Tokens: "tokens", Counts: "token_counts", Expiries: "token_expiry_counts",
				Uses: "token_use_counts", Words: tt.words}, &q)
			where, whereArgs := dialect.Where(&q)
			walk := "SELECT count(*) FROM (SELECT 1 FROM tokens" + where + " LIMIT 10001) AS matches"
			want, wantArgs := walk, whereArgs
			if tt.terms != nil {
				want = "SELECT CASE WHEN (SELECT CAST(coalesce(sum(v), 0) AS bigint) AS total FROM (" + strings.Join(tt.terms, " UNION ALL ") +
					") AS terms) > 10000 THEN 10001 ELSE (" + walk + ") END"
				wantArgs = append(append([]any{}, tt.args...), whereArgs...)
			}
			if counted || query != want {
				t.Errorf("Count = %v\n%s\nwant\n%s", counted, query, want)
			}
			if !cmp.Equal(args, wantArgs) {
				t.Errorf("args = %v, want %v", args, wantArgs)
			}
		})
	}
}

// With IDsFirst, a page that filters on nothing but its scope reads its
// rows in the order of the index directly: no entry is rejected, so there
// is nothing to spare the table from, and a join would only cost a second
// lookup of each row. A page with a filter finds its IDs first.
func TestListIDsFirst(t *testing.T) {
	d := dialect
	d.IDsFirst = true
	no := new(false)
	type F = patkit.Filter
	for _, tt := range []struct {
		name string
		q    patkit.Query
		join bool
	}{
		{"All", patkit.Query{}, false},
		{"AllByName", patkit.Query{Filter: F{Sort: patkit.SortNameAsc, Page: 3}}, false},
		{"OneOwnerByExpiry", patkit.Query{UserID: 7, Filter: F{Sort: patkit.SortExpiresDesc}}, false},
		{"OneProject", patkit.Query{ResourceType: patkit.ResourceProject, ResourceID: 3}, false},
		{"Personal", patkit.Query{UserID: 7, Impersonation: no}, true},
		{"NotRevoked", patkit.Query{Filter: F{Revoked: no}}, true},
		{"Active", patkit.Query{Filter: F{State: patkit.StateActive}}, true},
		{"CreatedAfter", patkit.Query{Filter: F{CreatedAfter: time.Unix(1e9, 0)}}, true},
		{"Exact", patkit.Query{Filter: F{Search: "ab"}}, true},
		{"Replacements", patkit.Query{PreviousID: 9}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			q.Normalize()
			page, _ := d.Page("id, name", "tokens", &q)
			if got := strings.Contains(page, " JOIN "); got != tt.join {
				t.Errorf("join %v, want %v: %s", got, tt.join, page)
			}
		})
	}
}

// TestBound checks which lists of all tokens get a BoundPlan: those with
// a time bound against the order of another key, and no others.
func TestBound(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	day := now.Add(-24 * time.Hour)
	type F = patkit.Filter
	for _, tt := range []struct {
		name string
		q    patkit.Query
		want bool
	}{
		{"AfterAscending", patkit.Query{Filter: F{CreatedAfter: day, Sort: patkit.SortExpiresAsc}}, true},
		{"AfterById", patkit.Query{Filter: F{LastUsedAfter: day}}, true},
		{"BeforeDescending", patkit.Query{Filter: F{LastUsedBefore: day, Sort: patkit.SortCreatedDesc}}, true},
		{"ExpiryBeforeDescending", patkit.Query{Filter: F{ExpiresBefore: day, Sort: patkit.SortNameDesc}}, true},
		{"WindowDescending", patkit.Query{Filter: F{CreatedAfter: day, CreatedBefore: now, Sort: patkit.SortLastUsedDesc}}, true},
		{"ExpiryWindowNotRevoked", patkit.Query{Filter: F{ExpiresAfter: day, ExpiresBefore: now, Revoked: new(false)}}, true},
		{"WithState", patkit.Query{Filter: F{CreatedAfter: day, State: patkit.StateActive, Sort: patkit.SortExpiresAsc}}, true},
		{"AfterDescending", patkit.Query{Filter: F{CreatedAfter: day, Sort: patkit.SortExpiresDesc}}, false},
		{"BeforeAscending", patkit.Query{Filter: F{CreatedBefore: day, Sort: patkit.SortNameAsc}}, false},
		{"SameKey", patkit.Query{Filter: F{CreatedAfter: day, Sort: patkit.SortCreatedAsc}}, false},
		{"OneBoundOnTheKey", patkit.Query{Filter: F{CreatedAfter: day, LastUsedAfter: day, Sort: patkit.SortLastUsedAsc}}, false},
		{"NoBound", patkit.Query{Filter: F{State: patkit.StateActive, Sort: patkit.SortExpiresAsc}}, false},
		{"OwnerAndResource", patkit.Query{UserID: 2, ResourceType: patkit.ResourceProject, ResourceID: 3, Filter: F{CreatedAfter: day}}, false},
		{"OwnImpersonation", patkit.Query{UserID: 2, Impersonation: new(true), Filter: F{CreatedAfter: day}}, false},
		{"Previous", patkit.Query{PreviousID: 4, Filter: F{CreatedAfter: day}}, false},
		{"Search", patkit.Query{Filter: F{CreatedAfter: day, Search: "deploy"}}, false},
		{"ExactName", patkit.Query{Filter: F{CreatedAfter: day, Search: "ab"}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			q.Now = now
			q.Normalize()
			d := dialect
			d.PageArgs = true
			p, ok := d.Bound("id", boundTables("token_zones"), &q, sqlq.Budgets{})
			if ok != tt.want || (p != nil) != tt.want {
				t.Fatalf("Bound = %v, %v; want a plan: %v", p != nil, ok, tt.want)
			}
			if p == nil {
				return
			}
			// Both walks seek from the zones, and end with the page's
			// LIMIT and OFFSET, which Near's arguments must not overwrite.
			page := []any{q.PerPage, q.Offset()}
			for _, w := range []struct {
				sql  string
				args []any
			}{{p.Walk, p.WalkArgs}, {p.Near, p.NearArgs}} {
				if !strings.Contains(w.sql, "FROM token_zones WHERE") {
					t.Errorf("no seek from the zones: %s", w.sql)
				}
				if n := len(w.args); n < 2 || !slices.Equal(w.args[n-2:], page) {
					t.Errorf("arguments %v, want the page's %v last", w.args, page)
				}
			}
			if p, _ := d.Bound("id", boundTables(""), &q, sqlq.Budgets{}); strings.Contains(p.Walk+p.Near, "zones") {
				t.Errorf("a seek without zones: %s", p.Walk)
			}
			// With RowSeek, the seek compares the key and the ID, but for
			// the order by ID, and Near reads its first entries with a
			// LIMIT, not up to a cutoff.
			rs := d
			rs.RowSeek = true
			p, _ = rs.Bound("id", boundTables("token_zones"), &q, sqlq.Budgets{})
			if row := strings.Contains(p.Walk, ", id) >= (SELECT ") || strings.Contains(p.Walk, ", id) <= (SELECT "); row == (q.Sort == patkit.SortDefault) {
				t.Errorf("RowSeek, sort %q: a row comparison %v: %s", q.Sort, row, p.Walk)
			}
			if strings.Contains(p.Near, "OFFSET 10000") || !strings.Contains(p.Near, "LIMIT 10000) AS w WHERE keep") {
				t.Errorf("RowSeek: Near does not read its first 10,000 entries: %s", p.Near)
			}
			// The seek reads the zones it is given, a join where a table
			// of its own holds the names.
			zones := "token_zones JOIN token_zone_names USING (zone)"
			p, _ = d.Bound("id", boundTables(zones), &q, sqlq.Budgets{})
			if !strings.Contains(p.Walk, "FROM "+zones+" WHERE") {
				t.Errorf("sort %q: no seek from %s: %s", q.Sort, zones, p.Walk)
			}
		})
	}
}

// TestBoundScoped checks the BoundPlans of one owner's or one resource's
// lists: none without the dialect's ScopeBounds; they read no zones, and
// never day by day; the Probe counts the
// scope's tokens in the bound, and Range reads them.
func TestBoundScoped(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	day := now.Add(-24 * time.Hour)
	no := new(false)
	type F = patkit.Filter
	for _, tt := range []struct {
		name  string
		q     patkit.Query
		scope string // the scope's condition
		args  []any  // and its arguments
	}{
		{"Owner", patkit.Query{UserID: 2, Impersonation: no, Filter: F{CreatedAfter: day, Sort: patkit.SortNameAsc}}, "user_id = ?", []any{int64(2), false}},
		{"OwnerExpiry", patkit.Query{UserID: 2, Filter: F{ExpiresAfter: day, Sort: patkit.SortCreatedAsc}}, "", nil},
		{"OwnerUsedRecently", patkit.Query{UserID: 2, Filter: F{LastUsedAfter: day}}, "user_id = ?", []any{int64(2)}},
		{"Resource", patkit.Query{ResourceType: patkit.ResourceProject, ResourceID: 3, Filter: F{LastUsedBefore: day, Sort: patkit.SortExpiresDesc}},
			"resource_type = ? AND resource_id = ?", []any{"project", int64(3)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			q.Now = now
			q.Normalize()
			d := dialect
			d.UsedDay = "last_used_at / 86400000000"
			if _, ok := d.Bound("id", boundTables("token_zones"), &q, sqlq.Budgets{}); ok {
				t.Error("a BoundPlan without ScopeBounds")
			}
			d.ScopeBounds = true
			p, ok := d.Bound("id", boundTables("token_zones"), &q, sqlq.Budgets{})
			if !ok {
				t.Fatal("no BoundPlan")
			}
			if p.ByDay || strings.Contains(p.Near+p.Walk+p.Range+p.Probe, "zones") {
				t.Errorf("ByDay %v, or the zones read:\n%s\n%s\n%s", p.ByDay, p.Near, p.Walk, p.Range)
			}
			if !strings.Contains(p.Near, "LIMIT 1 OFFSET 20)") {
				t.Errorf("Near does not read the first 20 entries: %s", p.Near)
			}
			for _, sql := range []string{p.Near, p.Walk, p.Range} {
				if !strings.Contains(sql, tt.scope) {
					t.Errorf("no %q in %s", tt.scope, sql)
				}
			}
			if tt.scope == "" { // an expiry bound: the scope's counters
				if !p.Counted || !slices.Equal(p.ProbeArgs[:3], []any{1, "", int64(2)}) {
					t.Errorf("Probe = %v %s %v, want the owner's counters", p.Counted, p.Probe, p.ProbeArgs)
				}
				return
			}
			if p.Counted || !strings.Contains(p.Probe, tt.scope) || !slices.Equal(p.ProbeArgs[:len(tt.args)], tt.args) {
				t.Errorf("Probe = %v %s %v, want a count of the scope's tokens %v", p.Counted, p.Probe, p.ProbeArgs, tt.args)
			}
		})
	}
}

// TestByDay checks which lists of all tokens used after a time are read
// day by day from the indexes of recent use (a BoundPlan whose Near is the
// page) and the days each reads: every day from the bound's to Now's,
// each up to the end of the page, then the tokens used after Now's day.
func TestByDay(t *testing.T) {
	now := time.Date(2026, 12, 1, 15, 4, 5, 0, time.UTC)
	today := now.Unix() / 86400
	type F = patkit.Filter
	for _, tt := range []struct {
		name string
		q    patkit.Query
		days []int64 // nil: no plan by day
	}{
		{"Week", patkit.Query{Filter: F{LastUsedAfter: now.Add(-7 * 24 * time.Hour)}}, span(today-7, today)},
		{"WeekByName", patkit.Query{Filter: F{LastUsedAfter: now.Add(-7 * 24 * time.Hour), Sort: patkit.SortNameDesc}}, span(today-7, today)},
		{"Today", patkit.Query{Filter: F{LastUsedAfter: now.Add(-time.Hour), Sort: patkit.SortExpiresAsc}}, span(today, today)},
		{"Midnight", patkit.Query{Filter: F{LastUsedAfter: now.Truncate(24 * time.Hour), Sort: patkit.SortCreatedAsc}}, span(today, today)},
		{"InTheFuture", patkit.Query{Filter: F{LastUsedAfter: now.Add(72 * time.Hour)}}, []int64{}},
		{"Active", patkit.Query{Filter: F{LastUsedAfter: now.Add(-48 * time.Hour), State: patkit.StateActive}}, span(today-2, today)},
		{"31Days", patkit.Query{Filter: F{LastUsedAfter: now.Add(-30 * 24 * time.Hour)}}, span(today-30, today)},
		{"32Days", patkit.Query{Filter: F{LastUsedAfter: now.Add(-31 * 24 * time.Hour)}}, nil},
		{"DeepPage", patkit.Query{Filter: F{LastUsedAfter: now.Add(-7 * 24 * time.Hour), Page: 100}}, nil},
		{"ByLastUse", patkit.Query{Filter: F{LastUsedAfter: now.Add(-time.Hour), Sort: patkit.SortLastUsedAsc}}, nil},
		{"Before1970", patkit.Query{Filter: F{LastUsedAfter: time.Unix(-10, 0)}, Now: time.Unix(1, 0)}, nil},
		{"NoNow", patkit.Query{Filter: F{LastUsedAfter: now.Add(-time.Hour)}, Now: time.Time{}}, nil},
		{"UsedBefore", patkit.Query{Filter: F{LastUsedAfter: now.Add(-48 * time.Hour), LastUsedBefore: now.Add(-24 * time.Hour)}}, span(today-2, today)},
		{"CreatedToo", patkit.Query{Filter: F{LastUsedAfter: now.Add(-time.Hour), CreatedAfter: now.Add(-time.Hour)}}, nil},
		{"ExpiresToo", patkit.Query{Filter: F{LastUsedAfter: now.Add(-time.Hour), ExpiresBefore: now.Add(time.Hour)}}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			if q.Now.IsZero() && tt.name != "NoNow" {
				q.Now = now
			}
			q.Normalize()
			d := dialect
			d.PageArgs = true
			d.UsedDay = "last_used_at / 86400000000"
			p, ok := d.Bound("id", boundTables("token_zones"), &q, sqlq.Budgets{})
			if byDay := ok && p.ByDay; byDay != (tt.days != nil) {
				t.Fatalf("Bound = %v, by day %v; want by day %v", ok, byDay, tt.days != nil)
			}
			if tt.days == nil {
				return
			}
			// Each day: the bound, the day, the end of the page; then the
			// bound and the day after Now's, and the page.
			bound := q.LastUsedAfter.UnixMicro()
			var want []any
			for _, day := range tt.days {
				want = append(want, bound, day, q.Offset()+int64(q.PerPage))
			}
			later := max(today+1, q.LastUsedAfter.Unix()/86400)
			want = append(want, bound, later*86400_000_000, q.PerPage, q.Offset())
			if q.State == patkit.StateActive || !q.LastUsedBefore.IsZero() {
				want = nil // the other conditions' arguments are in each
			}
			if diff := cmp.Diff(want, p.NearArgs); want != nil && diff != "" {
				t.Errorf("arguments (-want +got):\n%s", diff)
			}
			if n := strings.Count(p.Near, d.UsedDay+" = ?"); n != len(tt.days) {
				t.Errorf("%d days read, want %d: %s", n, len(tt.days), p.Near)
			}
			if n := strings.Count(p.Near, "?"); n != len(p.NearArgs) {
				t.Errorf("%d placeholders, %d arguments: %s", n, len(p.NearArgs), p.Near)
			}
			// Without the indexes, no plan by day.
			if p, _ := dialect.Bound("id", boundTables("token_zones"), &q, sqlq.Budgets{}); p != nil && p.ByDay {
				t.Errorf("a plan by day without UsedDay: %s", p.Near)
			}
		})
	}
}

// span returns the days from first to last.
func span(first, last int64) []int64 {
	var days []int64
	for d := first; d <= last; d++ {
		days = append(days, d)
	}
	return days
}

// TestSearch checks which lists get a SearchPlan (a search by words of
// all tokens, one owner's or one resource's, with a dialect that names
// the index of names), what its Range reads, and where it reads Range
// or nothing rather than walk the order.
func TestSearch(t *testing.T) {
	d := dialect
	// An index of names per scope: names_0 of all tokens, names_2 of
	// owner 2, names_group3 of group 3.
	d.NameIndex = func(table string, q *patkit.Query) string {
		return fmt.Sprintf("%s_names_%s%d", table, q.ResourceType, q.UserID+q.ResourceID)
	}
	type F = patkit.Filter
	for _, tt := range []struct {
		name  string
		q     patkit.Query
		index string // "" for no plan
		args  []any  // of Range
	}{
		{"All", patkit.Query{Filter: F{Search: "deploy"}}, "tokens_names_0", []any{"%deploy%", "%deploy%"}},
		{"Owner", patkit.Query{UserID: 2, Filter: F{Search: "deploy", Revoked: new(false), Page: 2}},
			"tokens_names_2", []any{int64(2), "%deploy%", false, "%deploy%"}},
		{"Resource", patkit.Query{ResourceType: patkit.ResourceGroup, ResourceID: 3, Filter: F{Search: "a deploy ci9"}},
			"tokens_names_group3", []any{"group", int64(3), "%deploy%", "%ci9%", "%deploy%", "%ci9%"}},
		{"AllNoCandidates", patkit.Query{Filter: F{Search: "ci9 deploy"}}, "tokens_names_0", []any{"%ci9%", "%deploy%", "%ci9%", "%deploy%"}},
		{"Exact", patkit.Query{Filter: F{Search: "ab"}}, "", nil},
		{"NoSearch", patkit.Query{}, "", nil},
		{"Previous", patkit.Query{PreviousID: 4, Filter: F{Search: "deploy"}}, "", nil},
		{"OwnerAndResource", patkit.Query{UserID: 2, ResourceType: patkit.ResourceProject, ResourceID: 3, Filter: F{Search: "deploy"}}, "", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			q.Normalize()
			p, ok := d.Search("id", "tokens", &q, sqlq.Budgets{})
			if ok != (tt.index != "") {
				t.Fatalf("Search = %v, want a plan: %v", ok, tt.index != "")
			}
			if _, ok := dialect.Search("id", "tokens", &q, sqlq.Budgets{}); ok {
				t.Error("a plan without NameIndex")
			}
			if !ok {
				return
			}
			if !strings.Contains(p.Range, "id IN (SELECT id FROM tokens INDEXED BY "+tt.index+" WHERE ") {
				t.Errorf("Range does not read %s: %s", tt.index, p.Range)
			}
			if diff := cmp.Diff(tt.args, p.RangeArgs); diff != "" {
				t.Errorf("Range args (-want +got):\n%s\n%s", diff, p.Range)
			}
			if n := strings.Count(p.Range, "?"); n != len(p.RangeArgs) {
				t.Errorf("%d placeholders for %d args: %s", n, len(p.RangeArgs), p.Range)
			}
			// Range up to four pages, counting those before; nothing
			// where the matches end before the page.
			pages := int(q.Offset())/q.PerPage + 1
			for _, c := range []struct {
				total      int
				empty, rng bool
			}{
				{0, true, true},
				{int(q.Offset()), true, true},
				{int(q.Offset()) + 1, false, true},
				{4 * pages * q.PerPage, false, true},
				{4*pages*q.PerPage + 1, false, false},
				{patkit.MaxCount + 1, false, false},
			} {
				if got := p.Empty(c.total); got != c.empty {
					t.Errorf("Empty(%d) = %v", c.total, got)
				}
				if got := p.UseRange(c.total, 0, 0); got != c.rng {
					t.Errorf("UseRange(%d) = %v", c.total, got)
				}
				if got := p.ProbeTotal(c.total); got != c.rng {
					t.Errorf("ProbeTotal(%d) = %v", c.total, got)
				}
			}
			if _, ok := d.Search("id", "tokens", &q, sqlq.Budgets{SearchPages: -1}); ok {
				t.Error("a plan with SearchPages -1")
			}
			if p.Probe != "" {
				t.Errorf("a Probe without NameCandidates: %s", p.Probe)
			}
			// With candidates of all tokens: Probe counts up to the most
			// Range reads plus one, and both read the candidates.
			dc := d
			dc.NameCandidates = func(table string, words []string, arg func(any) string) (string, bool) {
				return "SELECT cid FROM trigrams WHERE word = " + arg(words[0]), !slices.Contains(words, "ci9")
			}
			pc, _ := dc.Search("id", "tokens", &q, sqlq.Budgets{})
			all := q.UserID == 0 && q.ResourceType == ""
			if got := pc.Probe != ""; got != (all && !slices.Contains(q.Terms().Words, "ci9")) {
				t.Fatalf("Probe %q", pc.Probe)
			}
			if pc.Probe == "" {
				if pc.Range != p.Range || !cmp.Equal(pc.RangeArgs, p.RangeArgs) {
					t.Errorf("Range without candidates differs: %s", pc.Range)
				}
				return
			}
			wantArgs := append([]any{q.Terms().Words[0]}, tt.args[len(tt.args)-1])
			from := "FROM (SELECT cid FROM trigrams WHERE word = ?) AS c CROSS JOIN tokens ON tokens.id = c.cid WHERE "
			if !strings.HasPrefix(pc.Probe, "SELECT count(*), coalesce(max(cid), 0) FROM (SELECT cid "+from) ||
				!strings.HasSuffix(pc.Probe, " LIMIT ?) AS matches") || !cmp.Equal(pc.ProbeArgs, append(slices.Clone(wantArgs), 4*20+1)) {
				t.Errorf("Probe = %s %v", pc.Probe, pc.ProbeArgs)
			}
			if !strings.HasPrefix(pc.Count, "SELECT count(*) FROM (SELECT 1 "+from) ||
				!strings.HasSuffix(pc.Count, " LIMIT 10001) AS matches") || !cmp.Equal(pc.CountArgs, wantArgs) {
				t.Errorf("Count = %s %v", pc.Count, pc.CountArgs)
			}
			// The candidates count where the 81 matches Probe found are
			// sparser than one in 16 IDs.
			for _, c := range []struct {
				last int64
				want bool
			}{{81, false}, {16 * 81, false}, {16*81 + 1, true}, {1_000_000, true}} {
				if got := pc.CountCandidates(81, c.last); got != c.want {
					t.Errorf("CountCandidates(81, %d) = %v", c.last, got)
				}
			}
			// Beyond four pages, Range where reading every match costs
			// less than the walk: 4 × total × n < 20 × last.
			for _, c := range []struct {
				total int
				last  int64
				want  bool
			}{{300, 1_000_000, true}, {3999, 20_000, false}, {1000, 16_200, false}, {1000, 16_201, true},
				{patkit.MaxCount, 1 << 40, true}, {patkit.MaxCount + 1, 1 << 40, false}} {
				if got := pc.UseRange(c.total, 81, c.last); got != c.want {
					t.Errorf("UseRange(%d, 81, %d) = %v", c.total, c.last, got)
				}
				if got := p.UseRange(c.total, 81, c.last); got {
					t.Errorf("UseRange(%d, 81, %d) without Probe = %v", c.total, c.last, got)
				}
			}
			if !strings.Contains(pc.Range, "FROM (SELECT cid FROM trigrams WHERE word = ?) AS c CROSS JOIN tokens ON tokens.id = c.cid WHERE ") ||
				!cmp.Equal(pc.RangeArgs, wantArgs) {
				t.Errorf("Range = %s %v", pc.Range, pc.RangeArgs)
			}
		})
	}
}

// TestSearchFarPageTotal checks the total of a search of all tokens on a
// page far enough that the matches of the pages up to it are more than
// patkit.MaxCount: Probe, which counts up to them, counts them all, and
// the total stops at patkit.MaxCount+1 all the same (GitLab shows no
// X-Total above 10,000).
func TestSearchFarPageTotal(t *testing.T) {
	d := dialect
	d.NameIndex = func(table string, q *patkit.Query) string { return table + "_names" }
	d.NameCandidates = func(table string, words []string, arg func(any) string) (string, bool) {
		return "SELECT cid FROM trigrams WHERE word = " + arg(words[0]), true
	}
	q := patkit.Query{Filter: patkit.Filter{Search: "deploy", Page: 200, PerPage: 100}}
	q.Normalize()
	p, ok := d.Search("id", "tokens", &q, sqlq.Budgets{})
	if !ok || p.Probe == "" {
		t.Fatalf("Search = %v, Probe %q; want a plan with a Probe", ok, p.Probe)
	}
	const matches = patkit.MaxCount + 1000
	_, total, err := p.List("walk", nil, "count", nil,
		func(query string, args []any) (int, int64, error) { return matches, 5 * matches, nil },
		func(query string, args []any) (int, error) { return patkit.MaxCount + 1, nil },
		func(query string, args []any) ([]*patkit.Token, error) { return nil, nil })
	if err != nil || total != patkit.MaxCount+1 {
		t.Errorf("List total = %d, %v; want %d", total, err, patkit.MaxCount+1)
	}
}

// boundTables are the tables of a Bound, with zones.
func boundTables(zones string) sqlq.Tables {
	return sqlq.Tables{Tokens: "tokens", Counts: "token_counts", Expiries: "token_expiry_counts", Zones: zones}
}

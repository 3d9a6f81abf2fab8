package storetest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/patkit/patkit"
)

// expiring returns a personal token named name expiring at exp (the zero
// Time: never).
func expiring(name string, exp time.Time) *patkit.Token {
	tok := simple(name)
	tok.ExpiresAt = exp
	return tok
}

func ids(toks []*patkit.Token) []int64 {
	out := make([]int64, len(toks))
	for i, t := range toks {
		out[i] = t.ID
	}
	return out
}

// testNoticesRoundTrip: Create saves the notices given, and GetByDigest
// and List return them.
func testNoticesRoundTrip(t *testing.T, s patkit.Store) {
	tok := simple("notified")
	tok.Notices = patkit.ExpiryNotices{
		SixtyDays:  base.Add(time.Hour),
		ThirtyDays: base.Add(30*24*time.Hour + 7*time.Microsecond),
		Expired:    base.AddDate(0, 2, 0),
	}
	want := create(t, s, tok)
	checkStored(t, s, want)
	got, _ := listAll(t, s)
	if len(got) != 1 || !cmp.Equal(want, got[0], cmpOpts) {
		t.Errorf("List returned %+v, want %+v", got, want)
	}
}

// testClaimNotices: which tokens a claim takes, what it sets, the limit
// and the order of the result.
func testClaimNotices(t *testing.T, s patkit.Store) {
	nc := implementation[patkit.NoticeClaimer](t, s)
	day := 24 * time.Hour
	now := base
	in := func(d int) time.Time { return patkit.Date(now.Add(time.Duration(d) * day)) }
	seven := create(t, s, expiring("in 5 days", in(5)))
	edge := create(t, s, expiring("in 7 days", in(7)))  // 6.6 days: at most 7
	eight := create(t, s, expiring("in 8 days", in(8))) // 7.6 days: not yet
	never := create(t, s, expiring("never", time.Time{}))
	revoked := expiring("revoked", in(3))
	revoked.Revoked = true
	revoked = create(t, s, revoked)
	past := create(t, s, expiring("expired", in(-400)))
	later := expiring("7-day notice sent", in(6))
	later.Notices.SevenDays = now.Add(-day)
	later = create(t, s, later)
	earlier := expiring("30-day notice sent", in(2))
	earlier.Notices.ThirtyDays = now.Add(-20 * day)
	earlier = create(t, s, earlier)
	untouched := []*patkit.Token{eight, never, revoked, past, later}

	at := now.Add(time.Second)
	claim := func(n patkit.Notice, after, until time.Time, limit int) []*patkit.Token {
		t.Helper()
		got, err := nc.ClaimNotices(ctx(t), n, after, until, at, limit)
		if err != nil {
			t.Fatalf("ClaimNotices(%v): %v", n, err)
		}
		return got
	}
	due := []int64{seven.ID, edge.ID, earlier.ID}
	got := claim(patkit.NoticeSevenDays, now, now.Add(7*day), 2)
	if len(got) != 2 || !slices.IsSorted(ids(got)) || !slices.Contains(due, got[0].ID) || !slices.Contains(due, got[1].ID) || got[0].ID == got[1].ID {
		t.Fatalf("ClaimNotices(7 days, limit 2) claimed %v, want 2 of %v in increasing order", ids(got), due)
	}
	got = append(got, claim(patkit.NoticeSevenDays, now, now.Add(7*day), 10)...)
	slices.SortFunc(got, func(a, b *patkit.Token) int { return int(a.ID - b.ID) })
	if !slices.Equal(ids(got), due) {
		t.Fatalf("ClaimNotices(7 days) claimed %v in all, want %v", ids(got), due)
	}
	for _, g := range got {
		var want *patkit.Token
		for _, c := range []*patkit.Token{seven, edge, earlier} {
			if c.ID == g.ID {
				want = c.Clone()
			}
		}
		want.Notices.SevenDays = at
		if diff := cmp.Diff(want, g, cmpOpts); diff != "" {
			t.Errorf("claimed token %d (-want +got):\n%s", g.ID, diff)
		}
		checkStored(t, s, want)
	}
	if got := claim(patkit.NoticeSevenDays, now, now.Add(7*day), 10); len(got) != 0 {
		t.Errorf("a second claim took %v again", ids(got))
	}
	// A claim of an earlier notice does not take a token that had a later
	// one.
	if got := claim(patkit.NoticeThirtyDays, now, now.Add(30*day), 10); !slices.Equal(ids(got), []int64{eight.ID}) {
		t.Errorf("ClaimNotices(30 days) claimed %v, want [%d]", ids(got), eight.ID)
	}
	eight.Notices.ThirtyDays = at
	// Without a lower bound: every token expired.
	if got := claim(patkit.NoticeExpired, time.Time{}, now, 10); !slices.Equal(ids(got), []int64{past.ID}) {
		t.Errorf("ClaimNotices(expired) claimed %v, want [%d]", ids(got), past.ID)
	}
	past.Notices.Expired = at
	for _, u := range untouched {
		checkStored(t, s, u)
	}
	// A limit of 0 claims nothing.
	if got := claim(patkit.NoticeExpired, time.Time{}, now.AddDate(10, 0, 0), 0); len(got) != 0 {
		t.Errorf("ClaimNotices(limit 0) claimed %v", ids(got))
	}
}

// testClaimNoticesLifecycle: a done context and use after Close.
func testClaimNoticesLifecycle(t *testing.T, s patkit.Store) {
	nc := implementation[patkit.NoticeClaimer](t, s)
	tok := create(t, s, expiring("due", patkit.Date(base.AddDate(0, 0, 3))))
	canceled, cancel := context.WithCancel(ctx(t))
	cancel()
	expired, cancel2 := context.WithDeadline(ctx(t), time.Now().Add(-time.Second))
	defer cancel2()
	for _, c := range []context.Context{canceled, expired} {
		got, err := nc.ClaimNotices(c, patkit.NoticeSevenDays, time.Time{}, base.AddDate(1, 0, 0), base, 10)
		if !errors.Is(err, c.Err()) || errors.Is(err, patkit.ErrUnavailable) {
			t.Errorf("ClaimNotices with a done context (%v) = %v, %v; want an error wrapping %v and not %v",
				c.Err(), ids(got), err, c.Err(), patkit.ErrUnavailable)
		}
		checkStored(t, s, tok)
	}
	checkFailsAfterClose(t, s, call{"ClaimNotices", func(c context.Context) error {
		_, err := nc.ClaimNotices(c, patkit.NoticeSevenDays, time.Time{}, base.AddDate(1, 0, 0), base, 10)
		return err
	}})
}

// noticeRaceTokens and noticeRaceClaimers size RunNoticeRace.
const (
	noticeRaceTokens   = 120
	noticeRaceClaimers = 8
)

// RunNoticeRace claims the notices of 120 tokens from 8 goroutines at
// once, half through a and half through b, in batches of 7 until none is
// left, one notice after the other, and checks that each notice
// of each token was claimed exactly once, and stored. a and b must be
// handles on the same database (a == b is fine for a store with a single
// handle); both must be patkit.NoticeClaimers, or the test skips. The
// database need not be empty: the claims are bounded to the expiry dates
// of the test's tokens, which lie 400 years ahead.
func RunNoticeRace(t *testing.T, a, b patkit.Store) {
	t.Helper()
	ncs := []patkit.NoticeClaimer{implementation[patkit.NoticeClaimer](t, a), implementation[patkit.NoticeClaimer](t, b)}
	ctx := t.Context()
	// Far from any other token, and a few microseconds apart.
	from := patkit.Date(time.Now().AddDate(400, 0, 0)).Add(time.Duration(time.Now().UnixNano()%1e6) * time.Microsecond)
	salt := rand.Text()
	// Created concurrently: a store that commits writes in groups
	// commits them in a few.
	made := make(map[int64]bool)
	toks := make([]*patkit.Token, noticeRaceTokens)
	var cwg sync.WaitGroup
	for i := range toks {
		toks[i] = expiring(fmt.Sprintf("due %s %d", salt, i), from.Add(time.Duration(i)*time.Microsecond))
		toks[i].Digest = digest(toks[i].Name)
		cwg.Go(func() {
			if err := a.Create(ctx, toks[i]); err != nil {
				t.Errorf("Create: %v", err)
			}
		})
	}
	cwg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for _, tok := range toks {
		made[tok.ID] = true
	}
	after, until := from.Add(-time.Microsecond), from.Add(noticeRaceTokens*time.Microsecond)
	notices := []patkit.Notice{patkit.NoticeSixtyDays, patkit.NoticeThirtyDays, patkit.NoticeSevenDays, patkit.NoticeExpired}
	at := time.Now().UTC().Truncate(time.Microsecond)

	claimed := make(map[patkit.Notice]map[int64]int)
	for _, n := range notices {
		// One notice at a time: a token whose later notice is claimed
		// first can no longer get the earlier one.
		claimed[n] = make(map[int64]int)
		var (
			mu    sync.Mutex
			wg    sync.WaitGroup
			start = make(chan struct{})
		)
		for g := range noticeRaceClaimers {
			nc := ncs[g%2]
			wg.Go(func() {
				<-start
				for {
					got, err := nc.ClaimNotices(ctx, n, after, until, at, 7)
					if err != nil {
						t.Errorf("ClaimNotices(%v): %v", n, err)
						return
					}
					mu.Lock()
					for _, tok := range got {
						claimed[n][tok.ID]++
					}
					mu.Unlock()
					if len(got) == 0 {
						return
					}
				}
			})
		}
		close(start)
		wg.Wait()
	}
	for _, n := range notices {
		for id := range made {
			if c := claimed[n][id]; c != 1 {
				t.Errorf("notice %v of token %d claimed %d times, want exactly once", n, id, c)
			}
		}
		for id := range claimed[n] {
			if !made[id] {
				t.Errorf("notice %v claimed on token %d, which expires outside the bounds", n, id)
			}
		}
	}
	for id := range made {
		got, err := b.Get(ctx, id)
		if err != nil {
			t.Fatalf("Get(%d): %v", id, err)
		}
		want := patkit.ExpiryNotices{SixtyDays: at, ThirtyDays: at, SevenDays: at, Expired: at}
		if !cmp.Equal(want, got.Notices, cmpOpts) {
			t.Errorf("token %d: notices %+v, want all at %v", id, got.Notices, at)
		}
	}
}

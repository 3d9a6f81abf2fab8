// Package storetest is the conformance suite for implementations of
// patkit.Store. A backend passes it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) patkit.Store {
//			s := mystore.Open(...)          // a fresh, empty database
//			t.Cleanup(func() { s.Close() }) // dropped when the subtest ends
//			return s
//		})
//	}
//
// Run calls newStore once for every top-level subtest it starts, so every
// subtest begins with an empty store; the cases of a table-driven subtest
// (ListFilters/..., ListSort/..., ListSearch/...) share the fixture of their
// parent. Backends that serve one database from several handles (processes,
// connection pools) should also call RunRotationRace with two handles on the
// same database, and those that are a patkit.Watcher, RunWatcher.
//
// Besides what each method does, Run checks the error contract of
// patkit.Store: every method called with a done context (canceled, or past
// its deadline) returns an error wrapping ctx.Err() and not
// patkit.ErrUnavailable, and changes nothing (DoneContext); and, if the
// store is an io.Closer, every method called after Close returns an error
// and none panics, nor does a second Close (UseAfterClose). That subtest
// closes the store itself, so the cleanup registered by newStore closes it
// a second time: make Close idempotent, or ignore its error there.
//
// The suite pins down what patkit.Store leaves to its implementations:
//
//   - Times are compared with time.Time.Equal at microsecond precision; a
//     store may return them in any location (UTC is expected). The zero
//     Time stands for NULL (ExpiresAt: never expires; LastUsedAt: never
//     used) and must come back as the zero Time.
//   - Empty and nil slices (Scopes, LastUsedIPs) are interchangeable.
//   - Digests are arbitrary bytes, including 0x00.
//   - List returns complete tokens, equal to what Get returns.
//   - Every List query is normalized (patkit.Query.Normalize), as the
//     Service sends them, and its page must be what patkit.Query.Match,
//     patkit.Sort.Compare and the offset give (names compare by bytes);
//     the Reference subtests check exactly that on a fixture full of ties.
//   - Search follows patkit.ParseSearch and SearchTerms.Match: the
//     characters %, _ and \ in a search match themselves (a SQL backend
//     must escape them in LIKE patterns). Case folding is only tested on
//     ASCII letters.
//   - The count of List is exact up to patkit.MaxCount; above it, any
//     number above MaxCount will do.
//   - Text is valid UTF-8 without NUL (the Service refuses anything else)
//     and must come back byte for byte, whatever its script
//     (TextRoundTrip).
//   - A store that is a patkit.KeyStore passes KeyCheck and SetDigest;
//     for others these subtests skip.
//   - A store that is a patkit.FamilyRevoker passes RevokeDescendants
//     (chains and branches, members revoked already, tokens outside the
//     family, the IDs returned in increasing order), RevokeDescendantsCycle
//     (links to smaller IDs are not followed; it skips if Create does not
//     assign consecutive IDs on an empty store) and
//     RevokeDescendantsLifecycle (done contexts, use after Close); for
//     others these subtests skip.
//   - Create saves Token.Notices, and every read returns them
//     (NoticesRoundTrip).
//   - A store that is a patkit.NoticeClaimer passes ClaimNotices (the
//     bounds, revoked tokens and tokens without expiry left out, a later
//     notice excluding an earlier one, the limit, the result in ID
//     order), ClaimNoticesLifecycle and ClaimNoticesRace (RunNoticeRace
//     on one handle: each notice of each token claimed exactly once by
//     concurrent claimers); for others these subtests skip. Backends with
//     several handles on one database should call RunNoticeRace with two.
//   - Revocations keep their time (RevokedAt, given by the caller; a
//     second revocation keeps the first time), Rotate marks the token it
//     revokes Rotated, and any other revocation clears Rotated on the
//     token and its rotated-out ancestors (RevokeEndsGrace), as
//     RevokeDescendants does across the family
//     (RevokeDescendantsEndsGrace).
//   - SelfRotationRace runs a patkit.Service on the store: four clients
//     sharing one token self-rotate it at once, then the losers retry
//     with the old secret. With Options.RotationGrace every trial must
//     leave exactly one working token; without it the test logs how many
//     trials do (run with -v to see the counts;
//     PATKIT_TEST_ROTATION_TRIALS sets the number of trials, default 50).
package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/patkit/patkit"
)

// Run runs the conformance suite against the stores newStore returns. It
// calls newStore once per top-level subtest; each call must return a store
// over a fresh, empty database that the caller cleans up (t.Cleanup).
func Run(t *testing.T, newStore func(t *testing.T) patkit.Store) {
	t.Helper()
	run(t, newStore, allTests)
}

// RunLists runs the subtests of Run that check List's pages against
// Query.Match and Sort.Compare (filters, sorts, pages and search, on a
// table of some hundred tokens), for a store that can find a page in
// several ways: run it again with the store set to take each way where
// it would take another on a large table. ListCount, whose queries have
// no filter but the scope and a search, is left out.
func RunLists(t *testing.T, newStore func(t *testing.T) patkit.Store) {
	t.Helper()
	var lists []subtest
	for _, st := range allTests {
		if strings.HasPrefix(st.name, "List") && st.name != "ListCount" {
			lists = append(lists, st)
		}
	}
	run(t, newStore, lists)
}

// subtest is one subtest of Run.
type subtest struct {
	name string
	fn   func(t *testing.T, s patkit.Store)
}

// run runs tests, each on a store of its own.
func run(t *testing.T, newStore func(t *testing.T) patkit.Store, tests []subtest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			if s == nil {
				t.Fatal("newStore returned nil")
			}
			tt.fn(t, s)
		})
	}
}

// allTests are the subtests of Run.
var allTests = []subtest{
	{"CreateAssignsIncreasingIDs", testCreateIDs},
	{"CreateRoundTrip", testCreateRoundTrip},
	{"CreateDuplicateDigest", testCreateDuplicateDigest},
	{"GetNotFound", testGetNotFound},
	{"GetByDigestNotFound", testGetByDigestNotFound},
	{"Revoke", testRevoke},
	{"RevokeIdempotent", testRevokeIdempotent},
	{"RevokeNotFound", testRevokeNotFound},
	{"Rotate", testRotate},
	{"RotateRevoked", testRotateRevoked},
	{"RotateNotFound", testRotateNotFound},
	{"RotateDuplicateDigest", testRotateDuplicateDigest},
	{"RotationRace", func(t *testing.T, s patkit.Store) { RunRotationRace(t, s, s) }},
	{"SetLastUsed", testSetLastUsed},
	{"SetLastUsedNotFound", testSetLastUsedNotFound},
	{"ReturnsCopies", testReturnsCopies},
	{"ListFilters", testListFilters},
	{"ListSort", testListSort},
	{"ListPagination", testListPagination},
	{"ListSearch", testListSearch},
	{"ListCount", testListCount},
	{"DoneContext", testDoneContext},
	{"UseAfterClose", testUseAfterClose},
	{"TextRoundTrip", testTextRoundTrip},
	{"KeyCheck", testKeyCheck},
	{"SetDigest", testSetDigest},
	{"RevokeDescendants", testRevokeDescendants},
	{"RevokeDescendantsCycle", testRevokeDescendantsCycle},
	{"RevokeDescendantsLifecycle", testRevokeDescendantsLifecycle},
	{"NoticesRoundTrip", testNoticesRoundTrip},
	{"ClaimNotices", testClaimNotices},
	{"ClaimNoticesLifecycle", testClaimNoticesLifecycle},
	{"ClaimNoticesRace", func(t *testing.T, s patkit.Store) { RunNoticeRace(t, s, s) }},
	{"RevokeEndsGrace", testRevokeEndsGrace},
	{"RevokeDescendantsEndsGrace", testRevokeDescendantsEndsGrace},
	{"SelfRotationRace", testSelfRotationRace},
}

// cmpOpts compares times as instants and treats nil and empty slices alike.
var cmpOpts = cmp.Options{
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
	cmp.FilterValues(func(x, y any) bool {
		vx, vy := reflect.ValueOf(x), reflect.ValueOf(y)
		return x != nil && y != nil && vx.Type() == vy.Type() &&
			(vx.Kind() == reflect.Slice || vx.Kind() == reflect.Map) &&
			vx.Len() == 0 && vy.Len() == 0
	}, cmp.Comparer(func(_, _ any) bool { return true })),
}

// base is the reference instant of the fixtures, at microsecond precision.
var base = time.Date(2025, 1, 1, 10, 0, 0, 123456789, time.UTC).Truncate(time.Microsecond)

// digest returns a realistic 32-byte digest for s.
func digest(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func ctx(t *testing.T) context.Context { return t.Context() }

// create stores tok, checks that it got an ID, and returns a copy of it as
// the expected stored value.
func create(t *testing.T, s patkit.Store, tok *patkit.Token) *patkit.Token {
	t.Helper()
	if err := s.Create(ctx(t), tok); err != nil {
		t.Fatalf("Create(%q): %v", tok.Name, err)
	}
	if tok.ID <= 0 {
		t.Fatalf("Create(%q) assigned ID %d, want > 0", tok.Name, tok.ID)
	}
	return tok.Clone()
}

// get returns the stored token id, failing the test on error.
func get(t *testing.T, s patkit.Store, id int64) *patkit.Token {
	t.Helper()
	got, err := s.Get(ctx(t), id)
	if err != nil {
		t.Fatalf("Get(%d): %v", id, err)
	}
	if got == nil {
		t.Fatalf("Get(%d) returned nil token", id)
	}
	return got
}

// checkStored asserts that Get and GetByDigest both return want.
func checkStored(t *testing.T, s patkit.Store, want *patkit.Token) {
	t.Helper()
	if diff := cmp.Diff(want, get(t, s, want.ID), cmpOpts); diff != "" {
		t.Errorf("Get(%d) mismatch (-want +got):\n%s", want.ID, diff)
	}
	got, err := s.GetByDigest(ctx(t), want.Digest)
	if err != nil {
		t.Fatalf("GetByDigest(%q): %v", want.Name, err)
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("GetByDigest(%q) mismatch (-want +got):\n%s", want.Name, diff)
	}
}

// checkErr asserts that err wraps want.
func checkErr(t *testing.T, op string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error = %v, want an error wrapping %v", op, err, want)
	}
}

// checkNoDigest asserts that no token holds d.
func checkNoDigest(t *testing.T, s patkit.Store, d []byte) {
	t.Helper()
	got, err := s.GetByDigest(ctx(t), d)
	if !errors.Is(err, patkit.ErrNotFound) {
		t.Errorf("GetByDigest(%x) = %+v, %v; want an error wrapping %v (nothing stored)", d, got, err, patkit.ErrNotFound)
	}
}

// listAll returns every token of s in ID order and the total.
func listAll(t *testing.T, s patkit.Store) ([]*patkit.Token, int) {
	t.Helper()
	q := &patkit.Query{Filter: patkit.Filter{Page: 1, PerPage: 100}}
	got, total, err := s.List(ctx(t), q)
	if err != nil {
		t.Fatalf("List(all): %v", err)
	}
	return got, total
}

// simple returns a personal token named name with digest digest(name).
func simple(name string) *patkit.Token {
	return &patkit.Token{
		UserID:    1,
		Name:      name,
		Scopes:    []patkit.Scope{patkit.ScopeAPI},
		CreatedAt: base,
		ExpiresAt: patkit.Date(base.AddDate(0, 1, 0)),
		Digest:    digest(name),
	}
}

func testCreateIDs(t *testing.T, s patkit.Store) {
	var prev int64
	for _, name := range []string{"one", "two", "three", "four"} {
		tok := create(t, s, simple(name))
		if tok.ID <= prev {
			t.Errorf("Create(%q) assigned ID %d after ID %d; IDs must increase", name, tok.ID, prev)
		}
		prev = tok.ID
	}
}

func testCreateRoundTrip(t *testing.T, s patkit.Store) {
	// Every field set, binary digest with NUL and 0xff bytes.
	full := create(t, s, &patkit.Token{
		UserID:        42,
		Name:          "full token",
		Description:   "every field set, ünïcödé included",
		Scopes:        []patkit.Scope{patkit.ScopeAPI, patkit.ScopeReadRepository, patkit.ScopeSudo},
		Impersonation: true,
		CreatedAt:     base,
		ExpiresAt:     patkit.Date(base.AddDate(1, 0, 0)),
		LastUsedAt:    base.Add(90*time.Minute + 7*time.Microsecond),
		LastUsedIPs:   []string{"192.0.2.1", "2001:db8::1", "198.51.100.7"},
		AllowedCIDRs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"),
			netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("::1/128")},
		Digest: append([]byte{0x00, 0xff, 0x00, 0x7f}, digest("full")...),
	})
	// A revoked project access token that replaced the first one.
	project := create(t, s, &patkit.Token{
		UserID:       43,
		Name:         "project bot token",
		Scopes:       []patkit.Scope{patkit.ScopeReadAPI},
		ResourceType: patkit.ResourceProject,
		ResourceID:   7,
		AccessLevel:  patkit.Developer,
		CreatedAt:    base.Add(time.Hour),
		ExpiresAt:    patkit.Date(base.AddDate(0, 2, 0)),
		Revoked:      true,
		RevokedAt:    base.Add(150*time.Minute + 3*time.Microsecond),
		Rotated:      true,
		LastUsedAt:   base.Add(2 * time.Hour),
		LastUsedIPs:  []string{"203.0.113.9"},
		PreviousID:   full.ID,
		Digest:       digest("project"),
	})
	group := create(t, s, &patkit.Token{
		UserID:       44,
		Name:         "group bot token",
		Description:  "group",
		Scopes:       []patkit.Scope{patkit.ScopeReadRegistry, patkit.ScopeWriteRegistry},
		ResourceType: patkit.ResourceGroup,
		ResourceID:   9,
		AccessLevel:  patkit.Owner,
		CreatedAt:    base.Add(3 * time.Hour),
		Digest:       digest("group"),
	})
	// Never expires, never used, no scopes, no description.
	minimal := create(t, s, &patkit.Token{
		UserID:    45,
		Name:      "minimal",
		CreatedAt: base.Add(4 * time.Hour),
		Digest:    digest("minimal"),
	})
	for _, want := range []*patkit.Token{full, project, group, minimal} {
		checkStored(t, s, want)
	}
	got := get(t, s, minimal.ID)
	if !got.ExpiresAt.IsZero() || !got.LastUsedAt.IsZero() {
		t.Errorf("minimal token: ExpiresAt = %v, LastUsedAt = %v; want zero Times (never)", got.ExpiresAt, got.LastUsedAt)
	}
}

func testCreateDuplicateDigest(t *testing.T, s patkit.Store) {
	first := create(t, s, simple("first"))
	dup := simple("second")
	dup.Digest = digest("first")
	err := s.Create(ctx(t), dup)
	checkErr(t, "Create with a duplicate digest", err, patkit.ErrConflict)
	checkStored(t, s, first)
	got, total := listAll(t, s)
	if total != 1 || len(got) != 1 {
		t.Errorf("after the refused Create, List returned %d tokens (total %d), want 1 (total 1)", len(got), total)
	}
	// The store is still usable.
	create(t, s, simple("third"))
}

func testGetNotFound(t *testing.T, s patkit.Store) {
	tok := create(t, s, simple("exists"))
	for _, id := range []int64{0, -1, tok.ID + 1, tok.ID + 1000} {
		got, err := s.Get(ctx(t), id)
		if !errors.Is(err, patkit.ErrNotFound) {
			t.Errorf("Get(%d) = %+v, %v; want an error wrapping %v", id, got, err, patkit.ErrNotFound)
		}
	}
}

func testGetByDigestNotFound(t *testing.T, s patkit.Store) {
	tok := create(t, s, simple("exists"))
	for _, d := range [][]byte{nil, {}, digest("missing"), tok.Digest[:len(tok.Digest)-1], append(tok.Clone().Digest, 0)} {
		checkNoDigest(t, s, d)
	}
}

func testRevoke(t *testing.T, s patkit.Store) {
	tok := create(t, s, simple("to revoke"))
	other := create(t, s, simple("bystander"))
	at := base.Add(5*time.Hour + 7*time.Microsecond)
	if err := s.Revoke(ctx(t), tok.ID, at); err != nil {
		t.Fatalf("Revoke(%d): %v", tok.ID, err)
	}
	tok.Revoked, tok.RevokedAt = true, at
	checkStored(t, s, tok)
	checkStored(t, s, other)
}

func testRevokeIdempotent(t *testing.T, s patkit.Store) {
	tok := create(t, s, simple("to revoke"))
	tok.Revoked, tok.RevokedAt = true, base.Add(time.Hour)
	for i := range 3 {
		// The first revocation's time stays.
		if err := s.Revoke(ctx(t), tok.ID, base.Add(time.Duration(i+1)*time.Hour)); err != nil {
			t.Fatalf("Revoke(%d) #%d: %v; revoking a revoked token must return nil", tok.ID, i+1, err)
		}
		checkStored(t, s, tok)
	}
}

func testRevokeNotFound(t *testing.T, s patkit.Store) {
	tok := create(t, s, simple("exists"))
	checkErr(t, "Revoke(missing)", s.Revoke(ctx(t), tok.ID+1000, base), patkit.ErrNotFound)
	checkStored(t, s, tok)
}

// next returns a rotation successor of old named name.
func next(old *patkit.Token, name string) *patkit.Token {
	n := old.Clone()
	n.ID = 0
	n.Name = name
	n.CreatedAt = old.CreatedAt.Add(time.Hour)
	n.ExpiresAt = patkit.Date(n.CreatedAt.AddDate(0, 0, 7))
	n.LastUsedAt = time.Time{}
	n.LastUsedIPs = nil
	n.Revoked, n.RevokedAt, n.Rotated = false, time.Time{}, false
	n.PreviousID = old.ID
	n.Digest = digest(name)
	return n
}

func testRotate(t *testing.T, s patkit.Store) {
	old := create(t, s, simple("old"))
	n := next(old, "new")
	if err := s.Rotate(ctx(t), old.ID, n); err != nil {
		t.Fatalf("Rotate(%d): %v", old.ID, err)
	}
	if n.ID <= old.ID {
		t.Errorf("Rotate assigned ID %d to the new token, want > %d (IDs increase)", n.ID, old.ID)
	}
	old.Revoked, old.RevokedAt, old.Rotated = true, n.CreatedAt, true
	checkStored(t, s, old)
	checkStored(t, s, n)
	q := &patkit.Query{Filter: patkit.Filter{Page: 1, PerPage: 100}, PreviousID: old.ID}
	got, total, err := s.List(ctx(t), q)
	if err != nil {
		t.Fatalf("List(PreviousID): %v", err)
	}
	if diff := cmp.Diff([]*patkit.Token{n}, got, cmpOpts); diff != "" || total != 1 {
		t.Errorf("List(PreviousID=%d) total %d, want 1; mismatch (-want +got):\n%s", old.ID, total, diff)
	}
}

func testRotateRevoked(t *testing.T, s patkit.Store) {
	old := create(t, s, simple("old"))
	if err := s.Revoke(ctx(t), old.ID, base.Add(time.Minute)); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	old.Revoked, old.RevokedAt = true, base.Add(time.Minute)
	n := next(old, "new")
	checkErr(t, "Rotate(revoked token)", s.Rotate(ctx(t), old.ID, n), patkit.ErrTokenRevoked)
	checkNoDigest(t, s, n.Digest)
	checkStored(t, s, old)
	if _, total := listAll(t, s); total != 1 {
		t.Errorf("after the refused Rotate, List total = %d, want 1", total)
	}
}

func testRotateNotFound(t *testing.T, s patkit.Store) {
	old := create(t, s, simple("old"))
	n := next(old, "new")
	n.PreviousID = 0
	checkErr(t, "Rotate(missing token)", s.Rotate(ctx(t), old.ID+1000, n), patkit.ErrNotFound)
	checkNoDigest(t, s, n.Digest)
	checkStored(t, s, old)
}

func testRotateDuplicateDigest(t *testing.T, s patkit.Store) {
	old := create(t, s, simple("old"))
	other := create(t, s, simple("other"))
	n := next(old, "new")
	n.Digest = other.Digest
	checkErr(t, "Rotate with a duplicate digest", s.Rotate(ctx(t), old.ID, n), patkit.ErrConflict)
	checkStored(t, s, old) // still unrevoked
	checkStored(t, s, other)
	if _, total := listAll(t, s); total != 2 {
		t.Errorf("after the refused Rotate, List total = %d, want 2", total)
	}
	// The refused rotation left the token rotatable.
	n = next(old, "new")
	if err := s.Rotate(ctx(t), old.ID, n); err != nil {
		t.Errorf("Rotate after a refused rotation: %v", err)
	}
}

func testSetLastUsed(t *testing.T, s patkit.Store) {
	tok := create(t, s, simple("used"))
	other := create(t, s, simple("unused"))
	at := base.Add(36*time.Hour + 123*time.Microsecond)
	ips := []string{"192.0.2.1", "2001:db8::2"}
	if err := s.SetLastUsed(ctx(t), tok.ID, at, ips); err != nil {
		t.Fatalf("SetLastUsed: %v", err)
	}
	tok.LastUsedAt, tok.LastUsedIPs = at, ips
	checkStored(t, s, tok)

	// A later call replaces the list.
	at = at.Add(time.Hour)
	ips = []string{"198.51.100.1"}
	if err := s.SetLastUsed(ctx(t), tok.ID, at, ips); err != nil {
		t.Fatalf("SetLastUsed #2: %v", err)
	}
	tok.LastUsedAt, tok.LastUsedIPs = at, ips
	checkStored(t, s, tok)

	// Without addresses.
	at = at.Add(time.Hour)
	if err := s.SetLastUsed(ctx(t), tok.ID, at, nil); err != nil {
		t.Fatalf("SetLastUsed #3: %v", err)
	}
	tok.LastUsedAt, tok.LastUsedIPs = at, nil
	checkStored(t, s, tok)
	checkStored(t, s, other)
}

func testSetLastUsedNotFound(t *testing.T, s patkit.Store) {
	tok := create(t, s, simple("exists"))
	err := s.SetLastUsed(ctx(t), tok.ID+1000, base, []string{"192.0.2.1"})
	checkErr(t, "SetLastUsed(missing)", err, patkit.ErrNotFound)
	checkStored(t, s, tok)
}

// mutate changes every mutable part of tok in place.
func mutate(tok *patkit.Token) {
	tok.Name += " (changed)"
	tok.Revoked = !tok.Revoked
	tok.UserID++
	for i := range tok.Scopes {
		tok.Scopes[i] = "changed"
	}
	for i := range tok.LastUsedIPs {
		tok.LastUsedIPs[i] = "changed"
	}
	for i := range tok.Digest {
		tok.Digest[i] ^= 0xff
	}
}

func testReturnsCopies(t *testing.T, s patkit.Store) {
	in := simple("copied")
	in.Scopes = []patkit.Scope{patkit.ScopeAPI, patkit.ScopeReadUser}
	in.LastUsedIPs = []string{"192.0.2.1"}
	in.LastUsedAt = base
	want := create(t, s, in)

	mutate(in) // the caller's token, after Create
	checkStored(t, s, want)

	got := get(t, s, want.ID)
	mutate(got)
	checkStored(t, s, want)

	got, err := s.GetByDigest(ctx(t), want.Digest)
	if err != nil {
		t.Fatalf("GetByDigest: %v", err)
	}
	mutate(got)
	checkStored(t, s, want)

	list, _ := listAll(t, s)
	for _, tok := range list {
		mutate(tok)
	}
	checkStored(t, s, want)

	ips := []string{"198.51.100.1", "198.51.100.2"}
	if err := s.SetLastUsed(ctx(t), want.ID, base.Add(time.Hour), ips); err != nil {
		t.Fatalf("SetLastUsed: %v", err)
	}
	want.LastUsedAt, want.LastUsedIPs = base.Add(time.Hour), []string{"198.51.100.1", "198.51.100.2"}
	ips[0] = "changed"
	checkStored(t, s, want)

	n := next(want, "rotated")
	n.Scopes = []patkit.Scope{patkit.ScopeReadAPI}
	if err := s.Rotate(ctx(t), want.ID, n); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	wantNext := n.Clone()
	mutate(n)
	checkStored(t, s, wantNext)
}

// implementation returns s as the optional interface T (FamilyRevoker,
// NoticeClaimer, KeyStore), or skips the test when s does not implement
// it.
func implementation[T any](t *testing.T, s patkit.Store) T {
	t.Helper()
	v, ok := s.(T)
	if !ok {
		t.Skipf("the store is not a %v", reflect.TypeFor[T]())
	}
	return v
}

package httpapi

import (
	"encoding/json"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/patkit/patkit"
)

// TestEntityJSON holds appendJSON to json.Marshal: the bytes of every
// entity kind, with and without each optional field, and strings that
// encoding/json escapes.
func TestEntityJSON(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	strs := []string{"", "ci", `quote " and \ backslash`, "<html> & more", "tab\there\nnewline", "é ünïcode ✓",
		"line\u2028separator", "bad \xff utf-8", "nul\x00", "emoji 🎉", "control \x1f"}
	var toks []*patkit.Token
	for i, s := range strs {
		toks = append(toks, &patkit.Token{ID: int64(i + 1), UserID: int64(i * 7), Name: s, Description: strs[(i+3)%len(strs)],
			Scopes: []patkit.Scope{patkit.ScopeAPI, patkit.Scope(strs[(i+5)%len(strs)])}, CreatedAt: now.Add(time.Duration(i) * time.Hour),
			Revoked: i%2 == 0, Impersonation: i%3 == 0})
	}
	toks = append(toks,
		&patkit.Token{ID: 100, Name: "used", CreatedAt: now, LastUsedAt: now.Add(time.Minute), LastUsedIPs: []string{"127.0.0.1", "::1"},
			ExpiresAt: patkit.Date(now.AddDate(1, 0, 0))},
		&patkit.Token{ID: 101, Name: "project", CreatedAt: now.In(time.FixedZone("X", 3600)), ResourceType: patkit.ResourceProject,
			ResourceID: 42, AccessLevel: patkit.Maintainer, ExpiresAt: patkit.Date(now)},
		&patkit.Token{ID: -1, Name: "zero"},
		&patkit.Token{ID: 102, Name: "bound", CreatedAt: now, AllowedCIDRs: []netip.Prefix{
			netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}},
		&patkit.Token{ID: 103, Name: "noticed", CreatedAt: now, ExpiresAt: patkit.Date(now),
			Notices: patkit.ExpiryNotices{ThirtyDays: now.Add(-time.Hour), SevenDays: now, Expired: now.Add(time.Hour)}})
	for _, tok := range toks {
		for _, kind := range []entityKind{kindBase, kindWithIPs, kindImpersonation, kindResource, kindAdminToken} {
			for _, secret := range []string{"", "glpat-secret", "<&>"} {
				e := newEntity(tok, kind, secret, now)
				want, err := json.Marshal(e)
				if err != nil {
					t.Fatal(err)
				}
				if got := e.appendJSON(nil); string(got) != string(want) {
					t.Errorf("token %d kind %d:\n got %s\nwant %s", tok.ID, kind, got, want)
				}
			}
		}
	}
	// Odd shapes newEntity does not make.
	for _, e := range []*entity{{}, {Scopes: []patkit.Scope{}, LastUsedIPs: new([]string(nil))},
		{AllowedCIDRs: []string{}}, {AllowedCIDRs: []string{"<&>", "\xff"}}} {
		want, _ := json.Marshal(e)
		if got := e.appendJSON(nil); string(got) != string(want) {
			t.Errorf("\n got %s\nwant %s", got, want)
		}
	}
	// A page is an array, empty for no tokens whether the store returned
	// nil or an empty slice (GitLab's []; null would break its clients).
	for _, page := range [][]*patkit.Token{toks, {}, nil} {
		for _, kind := range []entityKind{kindBase, kindWithIPs, kindImpersonation, kindResource} {
			list := []*entity{} // what the page renders, as encoding/json writes it
			for _, tok := range page {
				list = append(list, newEntity(tok, kind, "", now))
			}
			want, _ := json.Marshal(list)
			if got := (entityPage{page, kind, now}).appendJSON(nil); string(got) != string(want) {
				t.Errorf("page of %d, kind %d:\n got %s\nwant %s", len(page), kind, got, want)
			}
		}
	}
}

// TestAppendStringBytes holds appendString to json.Marshal for every byte
// value, alone and between letters.
func TestAppendStringBytes(t *testing.T) {
	for c := range 256 {
		for _, s := range []string{string([]byte{byte(c)}), "a" + string([]byte{byte(c)}) + "b"} {
			want, _ := json.Marshal(s)
			if got := appendString(nil, s); string(got) != string(want) {
				t.Errorf("appendString(%q) = %s, want %s", s, got, want)
			}
		}
	}
}

// FuzzEntityJSON: any name, description, scope and secret encode as
// json.Marshal encodes them.
func FuzzEntityJSON(f *testing.F) {
	f.Add("ci", "", "api", "glpat-x", int64(1))
	f.Add("<\u2028>", "\xff", "\"", "&", int64(-5))
	f.Fuzz(func(t *testing.T, name, desc, scope, secret string, id int64) {
		tok := &patkit.Token{ID: id, Name: name, Description: desc, Scopes: []patkit.Scope{patkit.Scope(scope)},
			CreatedAt: time.Unix(id%1e10, 0), LastUsedIPs: []string{scope}}
		e := newEntity(tok, kindWithIPs, secret, time.Now())
		want, err := json.Marshal(e)
		if err != nil {
			t.Skip()
		}
		if got := e.appendJSON(nil); string(got) != string(want) {
			t.Errorf("\n got %s\nwant %s", got, want)
		}
	})
}

// The Unix times of 0000-01-01 and 10000-01-01, UTC: the bounds of the
// years appendTime writes itself.
const (
	unixYear0     = -62167219200
	unixYear10000 = 253402300800
)

// TestAppendTime holds appendTime to AppendFormat for both layouts, across
// years, fractions of a second that round in neither direction, and
// locations.
func TestAppendTime(t *testing.T) {
	east, west := time.FixedZone("E", 13*3600+45*60), time.FixedZone("W", -11*3600)
	var times []time.Time
	for _, y := range []int{-1, 0, 1, 9, 99, 999, 1969, 1970, 2026, 9999, 10000, 292277026596} {
		for _, ns := range []int{0, 999_999, 1_000_000, 123_456_789, 999_999_999} {
			for _, loc := range []*time.Location{time.UTC, east, west} {
				times = append(times, time.Date(y, 12, 31, 23, 59, 59, ns, loc), time.Date(y, 1, 1, 0, 0, 0, ns, loc))
			}
		}
	}
	times = append(times, time.Time{}, time.Unix(0, 0), time.Unix(1<<40, 5e8), time.Unix(-1<<40, 1),
		time.Unix(unixYear0-1, 999_999_999), time.Unix(unixYear0, 0), time.Unix(unixYear10000-1, 999_999_999), time.Unix(unixYear10000, 0),
		time.Date(1900, 2, 28, 0, 0, 0, 0, time.UTC), time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC), time.Date(2100, 3, 1, 0, 0, 0, 0, time.UTC))
	// Every day from 1960 to 2100, and every 29th from year 0 to 9999,
	// each at a time of day of its own.
	rnd := rand.New(rand.NewPCG(1, 2))
	for u := time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC).Unix(); u < time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).Unix(); u += 86400 {
		times = append(times, time.Unix(u+rnd.Int64N(86400), rnd.Int64N(1e9)))
	}
	for u := int64(unixYear0); u < unixYear10000; u += 29 * 86400 {
		times = append(times, time.Unix(u+rnd.Int64N(86400), rnd.Int64N(1e9)))
	}
	for _, tm := range times {
		for _, layout := range []string{timestampLayout, time.DateOnly} {
			want := `"` + tm.UTC().Format(layout) + `"`
			if got := string(appendTime([]byte("x"), tm, layout)); got != "x"+want {
				t.Errorf("appendTime(%v, %q) = %s, want x%s", tm, layout, got, want)
			}
		}
	}
}

// newEntity renders t as c.entity does.
func newEntity(t *patkit.Token, kind entityKind, secret string, now time.Time) *entity {
	e := new(struct {
		entity
		entityValues
	})
	e.entity = render(t, kind, secret, now, &e.entityValues)
	return &e.entity
}

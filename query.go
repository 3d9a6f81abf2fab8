package patkit

import (
	"cmp"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxCount is the number of matching rows above which GitLab stops
// counting: a list then reports a total of -1 and the API omits X-Total.
const MaxCount = 10000

// MaxPage is the largest page number a list serves; Normalize lowers larger
// ones to it. Pages past the last match are empty.
const MaxPage = math.MaxInt32

// State filters tokens by activity.
type State string

// The token states a list can be filtered by. The empty State means no
// filter (GitLab's "all").
const (
	StateAny      State = ""
	StateActive   State = "active"
	StateInactive State = "inactive"
)

// Sort is a list order. Every order breaks ties by ID in the same direction.
type Sort string

// The sorts of GET /personal_access_tokens. The empty Sort means ID
// ascending.
const (
	SortDefault      Sort = ""
	SortCreatedAsc   Sort = "created_asc"
	SortCreatedDesc  Sort = "created_desc"
	SortExpiresAsc   Sort = "expires_asc"
	SortExpiresDesc  Sort = "expires_desc"
	SortLastUsedAsc  Sort = "last_used_asc"
	SortLastUsedDesc Sort = "last_used_desc"
	SortNameAsc      Sort = "name_asc"
	SortNameDesc     Sort = "name_desc"
)

// Valid reports whether s is one of the named sorts (or SortDefault).
func (s Sort) Valid() bool {
	switch s {
	case SortDefault, SortCreatedAsc, SortCreatedDesc, SortExpiresAsc, SortExpiresDesc,
		SortLastUsedAsc, SortLastUsedDesc, SortNameAsc, SortNameDesc:
		return true
	}
	return false
}

// Descending reports whether s lists larger keys first.
func (s Sort) Descending() bool {
	switch s {
	case SortCreatedDesc, SortExpiresDesc, SortLastUsedDesc, SortNameDesc:
		return true
	}
	return false
}

// Compare is the definition of the order s: it returns a negative number
// when a lists before b, a positive number when after, and 0 only when they
// are the same token. Ties on the sort key are broken by ID in the sort's
// direction. Names compare by bytes. The zero ExpiresAt (never expires) and
// the zero LastUsedAt (never used) compare larger than every time, as NULL
// does in PostgreSQL: last in the ascending sorts, first in the descending
// ones. An unknown Sort compares as SortDefault (ID ascending).
func (s Sort) Compare(a, b *Token) int {
	c := 0
	switch s {
	case SortCreatedAsc, SortCreatedDesc:
		c = a.CreatedAt.Compare(b.CreatedAt)
	case SortExpiresAsc, SortExpiresDesc:
		c = nullsLarge(a.ExpiresAt, b.ExpiresAt)
	case SortLastUsedAsc, SortLastUsedDesc:
		c = nullsLarge(a.LastUsedAt, b.LastUsedAt)
	case SortNameAsc, SortNameDesc:
		c = strings.Compare(a.Name, b.Name)
	}
	if c == 0 {
		c = cmp.Compare(a.ID, b.ID)
	}
	if s.Descending() {
		return -c
	}
	return c
}

// nullsLarge compares two times, the zero Time (NULL) being larger than any
// other.
func nullsLarge(a, b time.Time) int {
	switch {
	case a.IsZero() && b.IsZero():
		return 0
	case a.IsZero():
		return 1
	case b.IsZero():
		return -1
	}
	return a.Compare(b)
}

// Filter is the user-facing part of a token list: the filters of GitLab's
// GET /personal_access_tokens and pagination. Zero values mean "no filter".
// Query.Match defines what each filter keeps.
type Filter struct {
	Revoked *bool
	State   State
	// CreatedBefore and CreatedAfter are inclusive bounds on CreatedAt.
	CreatedBefore, CreatedAfter time.Time
	// LastUsedBefore and LastUsedAfter are inclusive bounds on LastUsedAt;
	// tokens never used match neither.
	LastUsedBefore, LastUsedAfter time.Time
	// ExpiresBefore matches ExpiresAt < value, ExpiresAfter ExpiresAt >=
	// value; tokens that never expire match neither.
	ExpiresBefore, ExpiresAfter time.Time
	// Kind, when set, keeps the tokens of that kind (an extension of
	// patkit's: GitLab's API has no such filter, its credentials
	// inventory has). A Store walks the order's index to apply it: on a
	// large instance, a rare kind across all tokens lists slowly.
	Kind Kind
	// Search matches names, see ParseSearch.
	Search string
	Sort   Sort
	// Page counts from 1; PerPage defaults to 20 and is capped at 100.
	Page, PerPage int
}

// Query is what a Store lists: a Filter plus the scoping fields the Service
// sets from its policy, and the current time for State. The Service
// normalizes every Query before a Store sees it.
type Query struct {
	Filter

	// UserID, when non-zero, keeps the tokens of that owner.
	UserID int64
	// Impersonation, when non-nil, keeps tokens whose Impersonation equals it.
	Impersonation *bool
	// ResourceType, when set, keeps the access tokens of that project or
	// group (ResourceID).
	ResourceType ResourceType
	ResourceID   int64
	// PreviousID, when non-zero, keeps the tokens that replaced it.
	PreviousID int64

	// Now is the instant State compares expiry against.
	Now time.Time

	terms    SearchTerms // ParseSearch(parsedOf), set by Normalize
	parsedOf string
	parsed   bool
}

// Normalize applies GitLab's list defaults: page < 1 becomes 1 and pages
// above MaxPage become MaxPage; per_page 0 or less becomes 20, above 100
// becomes 100; an unknown sort becomes SortDefault, as GitLab ignores it.
// It also parses Search once for Match. A Store may rely on every Query it
// receives being normalized.
func (q *Query) Normalize() {
	q.Page = min(max(q.Page, 1), MaxPage)
	if q.PerPage < 1 {
		q.PerPage = 20
	}
	q.PerPage = min(q.PerPage, 100)
	if !q.Sort.Valid() {
		q.Sort = SortDefault
	}
	q.terms, q.parsedOf, q.parsed = ParseSearch(q.Search), q.Search, true
}

// Offset returns the number of matching tokens before q's page.
func (q *Query) Offset() int64 { return int64(q.Page-1) * int64(q.PerPage) }

// Terms returns the parsed Search.
func (q *Query) Terms() SearchTerms {
	if q.parsed && q.parsedOf == q.Search {
		return q.terms
	}
	return ParseSearch(q.Search)
}

// Match is the definition of every filter of q: it reports whether t
// passes them all. memstore lists with it and storetest checks every Store
// against it; a SQL Store translates it and nothing more.
func (q *Query) Match(t *Token) bool {
	switch {
	case q.UserID != 0 && t.UserID != q.UserID,
		q.Impersonation != nil && t.Impersonation != *q.Impersonation,
		q.ResourceType != "" && (t.ResourceType != q.ResourceType || t.ResourceID != q.ResourceID),
		q.PreviousID != 0 && t.PreviousID != q.PreviousID,
		q.Revoked != nil && t.Revoked != *q.Revoked,
		q.Kind != "" && t.Kind() != q.Kind,
		q.State == StateActive && !t.Active(q.Now),
		q.State == StateInactive && t.Active(q.Now),
		!q.CreatedBefore.IsZero() && t.CreatedAt.After(q.CreatedBefore),
		!q.CreatedAfter.IsZero() && t.CreatedAt.Before(q.CreatedAfter),
		!q.LastUsedBefore.IsZero() && (t.LastUsedAt.IsZero() || t.LastUsedAt.After(q.LastUsedBefore)),
		!q.LastUsedAfter.IsZero() && (t.LastUsedAt.IsZero() || t.LastUsedAt.Before(q.LastUsedAfter)),
		!q.ExpiresBefore.IsZero() && (t.ExpiresAt.IsZero() || !t.ExpiresAt.Before(q.ExpiresBefore)),
		!q.ExpiresAfter.IsZero() && (t.ExpiresAt.IsZero() || t.ExpiresAt.Before(q.ExpiresAfter)):
		return false
	}
	return q.Terms().Match(t.Name)
}

// Limits of a search query, as GitLab's search API sets them: longer
// queries are refused (ErrInvalid), not truncated.
const (
	MaxSearchLen   = 4096 // characters
	MaxSearchTerms = 64   // distinct words or phrases of 3+ characters
)

// SearchTerms is a parsed search query. If Exact is non-empty, a name
// matches when it equals Exact, ignoring case. Otherwise a name matches when
// it contains every one of Words, ignoring case. An empty SearchTerms
// matches every name.
type SearchTerms struct {
	Exact string
	Words []string
}

var quoted = regexp.MustCompile(`"[^"]+"`)

// ParseSearch parses a search query as GitLab's fuzzy name search does:
// white space is squished, "quoted phrases" stay together, and every word
// or phrase of at least 3 characters must appear in the name (a repeated
// one counts once). When no term has 3 characters, the whole query must
// equal the name. The Service refuses queries longer than MaxSearchLen or
// with more than MaxSearchTerms words, so that a search costs about as much
// as a plain list.
func ParseSearch(q string) SearchTerms {
	q = strings.Join(strings.Fields(q), " ")
	if q == "" {
		return SearchTerms{}
	}
	var terms []string
	for _, p := range quoted.FindAllString(q, -1) {
		terms = append(terms, strings.Trim(p, `"`))
	}
	terms = append(terms, strings.Fields(quoted.ReplaceAllString(q, " "))...)
	var words []string
	for _, t := range terms {
		if w := strings.ToLower(t); utf8.RuneCountInString(w) >= 3 && !slices.Contains(words, w) {
			words = append(words, w)
		}
	}
	if len(words) == 0 {
		return SearchTerms{Exact: strings.ToLower(q)}
	}
	return SearchTerms{Words: words}
}

// Match reports whether name matches the terms.
func (s SearchTerms) Match(name string) bool {
	name = strings.ToLower(name)
	if s.Exact != "" {
		return name == s.Exact
	}
	for _, w := range s.Words {
		if !strings.Contains(name, w) {
			return false
		}
	}
	return true
}

package patkit

import (
	"context"
	"regexp"
	"strings"
	"time"
)

// Store persists tokens. It holds no business rules: the Service validates,
// authorizes, hashes and decides; a Store only saves and finds. All methods
// must be safe for concurrent use. Errors are the sentinels of this package
// (ErrNotFound, ErrConflict, ErrUnavailable), wrapped with %w where a driver
// error explains more.
//
// The conformance suite in package storetest is the full contract.
type Store interface {
	// Create saves t, assigns t.ID (IDs increase) and returns nil. A token
	// whose Digest already exists is refused with ErrConflict and nothing is
	// saved.
	Create(ctx context.Context, t *Token) error

	// Get returns the token with the given ID, or ErrNotFound.
	Get(ctx context.Context, id int64) (*Token, error)

	// GetByDigest returns the token whose Digest equals digest, or
	// ErrNotFound. It is the authentication lookup and must be O(1) or
	// O(log n).
	GetByDigest(ctx context.Context, digest []byte) (*Token, error)

	// List returns one page of the tokens matching q, in q's order, and the
	// total number of matching tokens, or -1 when there are more than
	// MaxCount. q arrives normalized (Page >= 1, 1 <= PerPage <= 100).
	List(ctx context.Context, q *Query) ([]*Token, int, error)

	// Revoke marks the token revoked. Revoking a revoked token is a no-op
	// that returns nil; a missing token returns ErrNotFound.
	Revoke(ctx context.Context, id int64) error

	// Rotate atomically revokes the token oldID and creates next (assigning
	// next.ID), or does neither. It returns ErrNotFound if oldID does not
	// exist, ErrTokenRevoked if it is already revoked (so that of several
	// concurrent rotations of one token exactly one succeeds), and
	// ErrConflict if next.Digest exists.
	Rotate(ctx context.Context, oldID int64, next *Token) error

	// SetLastUsed records the last use of a token: its time and the list of
	// recent client addresses, replacing the stored list. A missing token
	// returns ErrNotFound.
	SetLastUsed(ctx context.Context, id int64, at time.Time, ips []string) error
}

// MaxCount is the number of matching rows above which GitLab stops
// counting: List then reports a total of -1 and the API omits X-Total.
const MaxCount = 10000

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

// ValidSort reports whether s is one of the named sorts (or SortDefault).
func ValidSort(s Sort) bool {
	switch s {
	case SortDefault, SortCreatedAsc, SortCreatedDesc, SortExpiresAsc, SortExpiresDesc,
		SortLastUsedAsc, SortLastUsedDesc, SortNameAsc, SortNameDesc:
		return true
	}
	return false
}

// Filter is the user-facing part of a token list: the filters of
// GET /personal_access_tokens (SPEC §3.1) and pagination. Zero values mean
// "no filter".
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
	// Search matches names, see ParseSearch.
	Search string
	Sort   Sort
	// Page counts from 1; PerPage defaults to 20 and is capped at 100.
	Page, PerPage int
}

// Query is what a Store lists: a Filter plus the scoping fields the Service
// sets from its policy, and the current time for State.
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
	// Personal keeps only tokens with no ResourceType.
	Personal bool
	// PreviousID, when non-zero, keeps the tokens that replaced it.
	PreviousID int64

	// Now is the instant State compares expiry against.
	Now time.Time
}

// Offset returns the number of rows before q's page.
func (q *Query) Offset() int { return (q.Page - 1) * q.PerPage }

// Normalize applies GitLab's pagination defaults: page < 1 becomes 1,
// per_page 0 or less becomes 20, per_page over 100 becomes 100.
func (f *Filter) Normalize() {
	if f.Page < 1 {
		f.Page = 1
	}
	if f.PerPage < 1 {
		f.PerPage = 20
	}
	if f.PerPage > 100 {
		f.PerPage = 100
	}
}

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
// or phrase of at least 3 characters must appear in the name. When no term
// has 3 characters, the whole query must equal the name.
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
		if len([]rune(t)) >= 3 {
			words = append(words, strings.ToLower(t))
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

package patkit

import (
	"encoding/base64"
	"hash/crc32"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// ResourceType names what a project or group access token belongs to.
type ResourceType string

// The resource types of project and group access tokens.
const (
	ResourceProject ResourceType = "project"
	ResourceGroup   ResourceType = "group"
)

// Kind is the kind of a token: what it was created as and whom it acts
// for.
type Kind string

// The kinds of tokens.
const (
	KindPersonal      Kind = "personal"      // a user's own token
	KindImpersonation Kind = "impersonation" // created by an administrator for a user
	KindProject       Kind = "project"       // a project access token, owned by its bot
	KindGroup         Kind = "group"         // a group access token, owned by its bot
)

// Valid reports whether k is one of the kinds above.
func (k Kind) Valid() bool {
	switch k {
	case KindPersonal, KindImpersonation, KindProject, KindGroup:
		return true
	}
	return false
}

// AccessLevel is a GitLab membership level (Gitlab::Access).
type AccessLevel int

// The access levels of GitLab (Gitlab::Access); see
// https://docs.gitlab.com/api/members/#roles.
const (
	NoAccess        AccessLevel = 0
	MinimalAccess   AccessLevel = 5
	Guest           AccessLevel = 10
	Planner         AccessLevel = 15
	Reporter        AccessLevel = 20
	SecurityManager AccessLevel = 25
	Developer       AccessLevel = 30
	Maintainer      AccessLevel = 40
	Owner           AccessLevel = 50
)

// ValidTokenLevel reports whether l may be given to a project or group access
// token (GitLab's options_with_owner: 10, 15, 20, 30, 40, 50).
func ValidTokenLevel(l AccessLevel) bool {
	switch l {
	case Guest, Planner, Reporter, Developer, Maintainer, Owner:
		return true
	}
	return false
}

// Token is an access token as stored: a personal access token, an
// impersonation token, or a project or group access token (owned by a bot
// user). It never holds the plaintext secret.
type Token struct {
	ID          int64
	UserID      int64 // owner; the bot user for project and group tokens
	Name        string
	Description string
	Scopes      []Scope

	// Impersonation marks a token an administrator created for a user.
	Impersonation bool

	// ResourceType and ResourceID name the project or group of a resource
	// access token; ResourceType is empty for personal and impersonation
	// tokens. AccessLevel is the bot user's level in that resource.
	ResourceType ResourceType
	ResourceID   int64
	AccessLevel  AccessLevel

	CreatedAt time.Time
	// ExpiresAt is midnight UTC of the expiry date, or the zero Time for a
	// token that never expires. The token stops working at that instant.
	ExpiresAt time.Time
	Revoked   bool
	// RevokedAt is when the token was revoked, by the Service's clock
	// (Options.Now), or the zero Time for a token not revoked (and for
	// one revoked before patkit stored the time). A later revocation of a
	// token revoked already leaves it as it was.
	RevokedAt time.Time
	// Rotated reports that the token was revoked by its rotation and by
	// nothing else since: the token whose PreviousID is its ID replaced
	// it at RevokedAt. Only such a token may authenticate within
	// Options.RotationGrace. Any other revocation of it, of a token
	// descending from it through rotation, or of its rotation family by
	// reuse detection clears it, for good.
	Rotated bool
	// LastUsedAt is the zero Time for a token never used.
	LastUsedAt time.Time
	// LastUsedIPs holds up to 5 distinct client addresses, oldest first.
	LastUsedIPs []string
	// PreviousID is the token this one replaced by rotation, or 0.
	PreviousID int64
	// AllowedCIDRs, when not empty, are the only networks the token
	// authenticates from (see TokenOptions.AllowedCIDRs): canonical
	// (masked, IPv4-mapped IPv6 unmapped), without duplicates, sorted.
	// Empty means from anywhere. Rotation keeps them.
	AllowedCIDRs []netip.Prefix

	// Notices records the expiry notices claimed for the token (see
	// Service.SendExpiryNotices): GitLab's sixty_days_notification_sent_at
	// and the other columns its admin token API documentation shows.
	Notices ExpiryNotices

	// Digest is the keyed digest of the secret; Stores index it uniquely.
	Digest []byte
}

// Kind returns the kind of t.
func (t *Token) Kind() Kind {
	switch {
	case t.ResourceType != "":
		return Kind(t.ResourceType)
	case t.Impersonation:
		return KindImpersonation
	}
	return KindPersonal
}

// Expired reports whether t has expired at now: its expiry date is today or
// earlier (a token expires at 00:00 UTC of its expires_at date).
func (t *Token) Expired(now time.Time) bool {
	return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)
}

// Active reports whether t is neither revoked nor expired at now.
func (t *Token) Active(now time.Time) bool { return !t.Revoked && !t.Expired(now) }

// Clone returns a deep copy of t.
func (t *Token) Clone() *Token {
	c := *t
	c.Scopes = append([]Scope(nil), t.Scopes...)
	c.LastUsedIPs = append([]string(nil), t.LastUsedIPs...)
	c.AllowedCIDRs = append([]netip.Prefix(nil), t.AllowedCIDRs...)
	c.Digest = append([]byte(nil), t.Digest...)
	return &c
}

// Date returns midnight UTC of the calendar date of t in UTC: the form of
// every ExpiresAt.
func Date(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Secret format: prefix + base64url(20 random bytes) + base36(CRC-32 of
// everything before), the checksum padded to 7 characters. The checksum lets
// Authenticate reject mistyped or truncated secrets without touching storage.
const (
	secretRandomBytes = 20 // 160 bits
	secretBodyLen     = 27 // base64url, unpadded, of 20 bytes
	secretCRCLen      = 7  // base36 of a uint32
)

// DefaultPrefix is GitLab's personal access token prefix.
const DefaultPrefix = "glpat-"

func newSecret(prefix string, rand io.Reader) (string, error) {
	var buf [secretRandomBytes]byte
	if _, err := io.ReadFull(rand, buf[:]); err != nil {
		return "", err
	}
	s := prefix + base64.RawURLEncoding.EncodeToString(buf[:])
	return s + checksum(s), nil
}

func checksum(s string) string {
	c := strconv.FormatUint(uint64(crcString(s)), 36)
	return strings.Repeat("0", secretCRCLen-len(c)) + c
}

// crcString is crc32.ChecksumIEEE([]byte(s)) without copying s to the
// heap. A byte-at-a-time loop avoids the copy too but costs four times as
// much as crc32's slicing-by-8.
func crcString(s string) uint32 { return crc32.ChecksumIEEE(readOnlyBytes(s)) }

// readOnlyBytes returns the bytes of s in place, for a function that only
// reads them and keeps nothing: []byte(s) would copy s to the heap on
// every authentication wherever the callee is reached through a function
// value or an interface (crc32, hash.Hash), as escape analysis cannot see
// that the bytes are not kept. Writing to the result is undefined.
func readOnlyBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// wellFormed reports whether secret has the prefix, the length and a valid
// checksum. It does no I/O. It runs on every authentication, so it reads
// each byte once, through tables.
func wellFormed(prefix, secret string) bool {
	if len(secret) != len(prefix)+secretBodyLen+secretCRCLen || !strings.HasPrefix(secret, prefix) {
		return false
	}
	body, sum := secret[:len(secret)-secretCRCLen], secret[len(secret)-secretCRCLen:]
	for i := len(prefix); i < len(body); i++ {
		if !base64URL[body[i]] {
			return false
		}
	}
	var v uint64 // seven base-36 digits fit
	for i := 0; i < len(sum); i++ {
		d := base36[sum[i]]
		if d == 0 {
			return false
		}
		v = v*36 + uint64(d-1)
	}
	return v == uint64(crcString(body))
}

// base64URL[c] reports whether c is in the alphabet of the random part.
var base64URL = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") {
		t[c] = true
	}
	return t
}()

// base36[c] is 1 + the value of c as a lower-case base-36 digit (how
// strconv.FormatUint writes the checksum), 0 if it is none.
var base36 = func() (t [256]byte) {
	for i, c := range []byte("0123456789abcdefghijklmnopqrstuvwxyz") {
		t[c] = byte(i + 1)
	}
	return t
}()

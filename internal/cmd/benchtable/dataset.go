package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"strconv"
	"strings"
	"time"

	"github.com/patkit/patkit"
)

// benchKey is the instance key every dataset is digested with.
var benchKey = []byte("patkit benchtable instance key, not a secret")

// botIDBase is where the bot users of the dataset's project and group
// tokens start: where the Service puts the bots it manages (1<<40).
const botIDBase = 1 << 40

// known is a token of a dataset whose secret the benchmarks know.
type known struct {
	ID     int64
	UserID int64
	Secret string
}

// dataset describes n tokens shaped like a large instance, generated
// row by row (row i has ID i+1), so that the SQL stores can be filled
// in bulk without holding them in memory:
//
//   - users 1..users: 1 is root, the administrator; 2..11 are "heavy"
//     users (service accounts, CI) holding a tenth of all tokens between
//     them; the others share the rest;
//   - a fifth of the tokens are project or group tokens, each owned by a
//     bot of its own, of 1,000 projects and groups;
//   - one in 50 is an impersonation token, one in 7 is revoked (and the
//     next one is its rotation, previous_id set), one in 10 never expires,
//     one in 3 was never used;
//   - creation times spread over the last two years, lifetimes of 30 to
//     365 days, so about half of the tokens have expired;
//   - known: a few hundred active personal tokens with the api scope,
//     spread through the table, whose digests are the HMACs the Service
//     computes for their secrets, last used at build time from 127.0.0.1;
//     root's token; and fresh, never used, for the last-used row.
type dataset struct {
	n     int
	users int
	now   time.Time // build time

	root    known
	known   []known
	fresh   known
	unknown string // well-formed, held by no token

	heavy  int64 // a user holding n/100 tokens
	writer int64 // the user the write rows create tokens for

	knownAt map[int]int // row index -> index in known
}

// newDataset returns the description of a dataset of n tokens (n ≥ 100).
func newDataset(n int, now time.Time) *dataset {
	d := &dataset{
		n:       n,
		users:   min(50_000, max(100, n/20)),
		now:     now.UTC(),
		knownAt: make(map[int]int),
	}
	d.heavy = 2
	d.writer = int64(d.users) + 1
	d.root = known{ID: 1, UserID: 1, Secret: makeSecret("root", 0)}
	d.fresh = known{ID: int64(n), Secret: makeSecret("fresh", 0)}
	d.fresh.UserID = d.regularUser(n - 1)
	d.unknown = makeSecret("unknown", 0)
	count := min(1000, n/10)
	step := (n - 2) / count
	for k := range count {
		i := 1 + k*step + step/2
		d.knownAt[i] = k
		d.known = append(d.known, known{ID: int64(i + 1), UserID: d.regularUser(i), Secret: makeSecret("known", k)})
	}
	return d
}

// makeSecret returns a well-formed secret (prefix, 160 bits, CRC-32 in
// base36), the same for the same label and k in every run.
func makeSecret(label string, k int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "patkit benchtable %s %d", label, k))
	body := patkit.DefaultPrefix + base64.RawURLEncoding.EncodeToString(sum[:20])
	c := strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(body))), 36)
	return body + strings.Repeat("0", 7-len(c)) + c
}

// mix scatters i (splitmix64).
func mix(i int) uint64 {
	z := uint64(i) + 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// regularUser is the owner of row i among the users that are neither root
// nor heavy.
func (d *dataset) regularUser(i int) int64 {
	return 12 + int64(mix(i)%uint64(d.users-11))
}

// scopeSets are the scopes the dataset's tokens hold; rootScopes are
// those of root's token, as examples/server creates it.
var (
	scopeSets = [][]string{{"api"}, {"read_api"}, {"read_repository", "write_repository"}, {"read_user"}}
	rootScope = []string{"api", "read_api", "read_user", "sudo", "admin_mode"}
)

// tokenRow is one row of a dataset, in the Token's terms; zero times are
// NULL.
type tokenRow struct {
	id, userID    int64
	name          string
	scopes        []string
	impersonation bool
	resourceType  string
	resourceID    int64
	accessLevel   int
	createdAt     time.Time
	expiresAt     time.Time
	revoked       bool
	lastUsedAt    time.Time
	ips           []string
	previousID    int64
	digest        []byte
}

// rowGen generates rows; it is not safe for concurrent use.
type rowGen struct {
	d   *dataset
	mac hash.Hash
	buf [40]byte
}

func (d *dataset) gen() *rowGen {
	return &rowGen{d: d, mac: hmac.New(sha256.New, benchKey)}
}

// digest returns the digest the Service computes for secret:
// HMAC-SHA-256 keyed with the instance key.
func (g *rowGen) digest(secret string) []byte {
	g.mac.Reset()
	g.mac.Write([]byte(secret))
	return g.mac.Sum(nil)
}

// row fills r with row i.
func (g *rowGen) row(i int, r *tokenRow) {
	d := g.d
	const span = 730 * 24 * time.Hour
	h := mix(i)
	*r = tokenRow{
		id:        int64(i + 1),
		name:      "token " + strconv.Itoa(i),
		scopes:    scopeSets[i%len(scopeSets)],
		createdAt: d.now.Add(-span + time.Duration(float64(span)*float64(i)/float64(d.n))).Truncate(time.Microsecond),
	}
	switch i % 5 {
	case 0:
		r.name += " deploy"
	case 1:
		r.name += " ci"
	}
	switch i % 10 {
	case 1, 2:
		r.resourceType = string(patkit.ResourceProject)
		if i%10 == 2 {
			r.resourceType = string(patkit.ResourceGroup)
		}
		r.resourceID = 1 + int64(h%1000)
		r.userID = botIDBase + int64(i)
		r.accessLevel = 30 + 10*int(h>>20&1)
	case 5:
		r.userID = 2 + int64(i/10%10)
	default:
		r.userID = d.regularUser(i)
		r.impersonation = i%50 == 0
	}
	if i%10 != 0 {
		r.expiresAt = patkit.Date(r.createdAt.AddDate(0, 0, 30+int(h>>8%336)))
	}
	r.revoked = i%7 == 0
	if i%7 == 1 {
		r.previousID = int64(i)
	}
	if i%3 != 0 {
		r.lastUsedAt = r.createdAt.Add(time.Duration(h>>16%(30*24*60)) * time.Minute)
		if r.lastUsedAt.After(d.now) {
			r.lastUsedAt = d.now
		}
		r.ips = []string{fmt.Sprintf("10.%d.%d.%d", h>>24&255, h>>32&255, h>>40&255)}
	}

	var secret string
	k, isKnown := d.knownAt[i]
	switch {
	case i == 0:
		secret = d.root.Secret
		*r = tokenRow{id: 1, userID: 1, name: "patkit bootstrap", scopes: rootScope,
			createdAt: r.createdAt, lastUsedAt: d.now, ips: []string{"127.0.0.1"}}
	case i == d.n-1:
		secret = d.fresh.Secret
		r.userID, r.scopes, r.impersonation, r.revoked = d.fresh.UserID, scopeSets[0], false, false
		r.resourceType, r.resourceID, r.accessLevel = "", 0, 0
		r.expiresAt = patkit.Date(d.now.AddDate(0, 0, 180))
		r.lastUsedAt, r.ips = time.Time{}, nil
	case isKnown:
		kt := d.known[k]
		secret = kt.Secret
		r.userID, r.scopes, r.impersonation, r.revoked = kt.UserID, scopeSets[0], false, false
		r.resourceType, r.resourceID, r.accessLevel = "", 0, 0
		r.expiresAt = patkit.Date(d.now.AddDate(0, 0, 180))
		r.lastUsedAt, r.ips = d.now, []string{"10.0.0.1", "127.0.0.1"}
	}
	if secret != "" {
		r.digest = g.digest(secret)
		return
	}
	// Digests no secret has: distinct, and as random as HMACs.
	binary.BigEndian.PutUint64(g.buf[:8], uint64(i))
	copy(g.buf[8:], "patkit benchtable filler digest")
	sum := sha256.Sum256(g.buf[:])
	r.digest = sum[:]
}

// directory returns the dataset's users (and the writer) as a Directory
// that, like examples/server's, leaves bot users to patkit.
func (d *dataset) directory() patkit.Directory {
	m := new(patkit.MemDirectory)
	m.AddUser(patkit.User{ID: 1, Username: "root", Name: "Administrator", Admin: true})
	for id := int64(2); id <= d.writer; id++ {
		m.AddUser(patkit.User{ID: id, Username: "user" + strconv.FormatInt(id, 10), Name: "User " + strconv.FormatInt(id, 10)})
	}
	return usersOnly{m}
}

// usersOnly exposes a MemDirectory's users and nothing else: not a
// BotDirectory, so the Service knows bots from their tokens.
type usersOnly struct{ m *patkit.MemDirectory }

func (u usersOnly) UserByID(ctx context.Context, id int64) (*patkit.User, error) {
	return u.m.UserByID(ctx, id)
}

func (u usersOnly) UserByUsername(ctx context.Context, name string) (*patkit.User, error) {
	return u.m.UserByUsername(ctx, name)
}

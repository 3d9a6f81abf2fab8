package pgstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/patkit/patkit"
)

// scanTokens reads the rows of columns, of which there are usually about
// perPage. A page is most of what a list costs the client: pgx's Scan
// would allocate a value or a pointer for most of the 23 columns of every
// row and plan its conversions for each result. Rows in pgx's binary
// format, as the statement cache and description modes receive them, are
// decoded here directly (text columns in text format, which is the same),
// into tokens allocated together; rows in any other
// format (a pool in a simple-protocol mode) go through scanToken.
func scanTokens(rows pgx.Rows, perPage int) ([]*patkit.Token, error) {
	defer rows.Close()
	binaryRows := rawColumns(rows)
	var (
		block []patkit.Token
		arena arena
		out   = make([]*patkit.Token, 0, perPage)
	)
	for rows.Next() {
		var (
			t   *patkit.Token
			err error
		)
		if binaryRows {
			if len(block) == cap(block) {
				block = make([]patkit.Token, 0, perPage)
				arena = newArena(perPage)
			}
			block = block[:len(block)+1]
			t = &block[len(block)-1]
			err = decodeToken(t, rows.RawValues(), &arena)
		} else {
			t, err = scanToken(rows)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// arena holds the digests and scopes of a page's tokens, allocated
// together; each token's slice ends at its own length, so that an append
// to it copies it rather than overwrite the next token's.
type arena struct {
	digests []byte
	scopes  []patkit.Scope
}

// newArena returns an arena for n tokens of a digest and about two scopes
// each. One that runs out allocates more.
func newArena(n int) arena {
	return arena{digests: make([]byte, 0, n*sha256Size), scopes: make([]patkit.Scope, 0, 2*n)}
}

// digest returns a copy of b.
func (a *arena) digest(b []byte) []byte {
	if cap(a.digests)-len(a.digests) < len(b) {
		a.digests = make([]byte, 0, max(cap(a.digests), len(b)))
	}
	start := len(a.digests)
	a.digests = append(a.digests, b...)
	return a.digests[start:len(a.digests):len(a.digests)]
}

// scopes returns a slice of n scopes to fill.
func (a *arena) scopeSlice(n int) []patkit.Scope {
	if cap(a.scopes)-len(a.scopes) < n {
		a.scopes = make([]patkit.Scope, 0, max(cap(a.scopes), n))
	}
	start := len(a.scopes)
	a.scopes = a.scopes[:start+n]
	return a.scopes[start : start+n : start+n]
}

// sha256Size is the length of a digest, which the digests of a page are
// allocated for.
const sha256Size = 32

// columnTypes are the types of columns, in binary format, that
// decodeToken reads.
var columnTypes = []uint32{
	pgtype.Int8OID, pgtype.Int8OID, pgtype.TextOID, pgtype.TextOID, pgtype.TextArrayOID, pgtype.BoolOID,
	pgtype.TextOID, pgtype.Int8OID, pgtype.Int4OID, pgtype.TimestamptzOID, pgtype.TimestamptzOID, pgtype.BoolOID,
	pgtype.TimestamptzOID, pgtype.TextArrayOID, pgtype.Int8OID, pgtype.TimestamptzOID, pgtype.BoolOID, pgtype.TextArrayOID,
	pgtype.TimestamptzOID, pgtype.TimestamptzOID, pgtype.TimestamptzOID, pgtype.TimestamptzOID, pgtype.ByteaOID,
}

// rawColumns reports whether rows has the columns decodeToken reads, each
// in binary format, or text in either format (they are the same bytes, and
// pgx asks for text as text).
func rawColumns(rows pgx.Rows) bool {
	fields := rows.FieldDescriptions()
	if len(fields) != len(columnTypes) {
		return false
	}
	for i, f := range fields {
		if f.DataTypeOID != columnTypes[i] ||
			f.Format != pgtype.BinaryFormatCode && f.DataTypeOID != pgtype.TextOID {
			return false
		}
	}
	return true
}

// knownScopes maps the name of every scope to the constant, so that
// decoding a scope allocates nothing.
var knownScopes = func() map[string]patkit.Scope {
	m := make(map[string]patkit.Scope)
	for _, s := range slices.Concat(patkit.AllScopes(), patkit.SelfServiceScopes()) {
		m[string(s)] = s
	}
	return m
}()

// errRawValue is a value decodeToken cannot read as its column's type.
var errRawValue = errors.New("malformed value")

// decodeToken sets t from the values of one row of columns in binary
// format, as scanToken would, its digest and scopes in a.
func decodeToken(t *patkit.Token, v [][]byte, a *arena) error {
	if len(v) != len(columnTypes) {
		return fmt.Errorf("pgstore: %d columns, want %d", len(v), len(columnTypes))
	}
	d := decoder{v: v, arena: a}
	t.ID = d.int8(0)
	t.UserID = d.int8(1)
	t.Name = d.text(2)
	t.Description = d.text(3)
	t.Scopes = d.scopes(4)
	t.Impersonation = d.bool(5)
	switch rt := d.v[6]; string(rt) {
	case "":
	case string(patkit.ResourceProject):
		t.ResourceType = patkit.ResourceProject
	case string(patkit.ResourceGroup):
		t.ResourceType = patkit.ResourceGroup
	default:
		t.ResourceType = patkit.ResourceType(rt)
	}
	t.ResourceID = d.int8(7)
	t.AccessLevel = patkit.AccessLevel(d.int4(8))
	t.CreatedAt = d.time(9)
	t.ExpiresAt = d.time(10)
	t.Revoked = d.bool(11)
	t.LastUsedAt = d.time(12)
	t.LastUsedIPs = d.texts(13)
	t.PreviousID = d.int8(14)
	t.RevokedAt = d.time(15)
	t.Rotated = d.bool(16)
	for _, c := range d.texts(17) {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return fmt.Errorf("pgstore: token %d: allowed CIDR %q: %w", t.ID, c, err)
		}
		t.AllowedCIDRs = append(t.AllowedCIDRs, p)
	}
	for i := range 4 {
		if n := d.time(18 + i); !n.IsZero() {
			t.Notices.Set(patkit.Notice(i+1), n)
		}
	}
	if dg := d.v[22]; len(dg) > 0 {
		t.Digest = a.digest(dg)
	}
	if d.err != nil {
		return fmt.Errorf("pgstore: token %d: column %d: %w", t.ID, d.col, d.err)
	}
	return nil
}

// decoder reads values in PostgreSQL's binary format. A NULL reads as the
// zero value, as scanToken reads it; the first malformed value sets err.
type decoder struct {
	v     [][]byte
	arena *arena
	err   error
	col   int
}

func (d *decoder) fail(i int) {
	if d.err == nil {
		d.err, d.col = errRawValue, i
	}
}

// fixed returns value i, which is NULL (nil) or n bytes long: another
// length is malformed, and reads as NULL.
func (d *decoder) fixed(i, n int) []byte {
	b := d.v[i]
	if b != nil && len(b) != n {
		d.fail(i)
		return nil
	}
	return b
}

func (d *decoder) int8(i int) int64 {
	if b := d.fixed(i, 8); b != nil {
		return int64(binary.BigEndian.Uint64(b))
	}
	return 0
}

func (d *decoder) int4(i int) int32 {
	if b := d.fixed(i, 4); b != nil {
		return int32(binary.BigEndian.Uint32(b))
	}
	return 0
}

func (d *decoder) bool(i int) bool {
	b := d.fixed(i, 1)
	return b != nil && b[0] == 1
}

func (d *decoder) text(i int) string { return string(d.v[i]) }

// postgresEpoch is 2000-01-01 UTC in microseconds since the Unix epoch:
// a timestamptz counts microseconds from it.
const postgresEpoch = 946_684_800_000_000

// time reads a timestamptz; infinity, which no column of a token holds,
// is malformed.
func (d *decoder) time(i int) time.Time {
	us := d.int8(i)
	if d.v[i] == nil {
		return time.Time{}
	}
	if us == math64Max || us == math64Min {
		d.fail(i)
		return time.Time{}
	}
	return time.UnixMicro(us + postgresEpoch).UTC()
}

const (
	math64Max = 1<<63 - 1
	math64Min = -1 << 63
)

// array returns the number of elements of a one-dimensional array and
// their encoding, for next; an empty array has none.
func (d *decoder) array(i int) (n int, elems []byte) {
	b := d.v[i]
	if len(b) == 0 {
		return 0, nil
	}
	if len(b) < 12 {
		d.fail(i)
		return 0, nil
	}
	switch binary.BigEndian.Uint32(b) {
	case 0:
		return 0, nil
	case 1:
		if len(b) >= 20 {
			return int(binary.BigEndian.Uint32(b[12:])), b[20:]
		}
	}
	d.fail(i)
	return 0, nil
}

// next returns the first of the elements of array i and the others; a
// NULL element is malformed.
func (d *decoder) next(i int, elems []byte) (e, rest []byte) {
	if len(elems) >= 4 {
		if l := int(int32(binary.BigEndian.Uint32(elems))); l >= 0 && len(elems)-4 >= l {
			return elems[4 : 4+l], elems[4+l:]
		}
	}
	d.fail(i)
	return nil, nil
}

// texts reads a text[], nil when empty.
func (d *decoder) texts(i int) []string {
	n, elems := d.array(i)
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for j := range out {
		var e []byte
		e, elems = d.next(i, elems)
		out[j] = string(e)
	}
	return out
}

// scopes reads a text[] of scopes, nil when empty.
func (d *decoder) scopes(i int) []patkit.Scope {
	n, elems := d.array(i)
	if n == 0 {
		return nil
	}
	out := d.arena.scopeSlice(n)
	for j := range out {
		var e []byte
		e, elems = d.next(i, elems)
		s, ok := knownScopes[string(e)]
		if !ok {
			s = patkit.Scope(e)
		}
		out[j] = s
	}
	return out
}

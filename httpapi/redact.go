package httpapi

import (
	"bytes"
	"net/http"
	"regexp"
	"strings"
)

// Limits of a logged request URL.
const (
	// maxLoggedURL bounds the logged path and query; beyond it they are
	// cut and end with truncatedMark.
	maxLoggedURL = 2 << 10
	// maxScannedURL bounds how much of a URL is examined at all: a piece
	// (path segment or query pair) that reaches beyond it is dropped
	// whole, so that no part of a secret is logged from a piece that was
	// not examined in full.
	maxScannedURL = 16 * maxLoggedURL
	// minSecretRun is the length of a secret without its prefix (27
	// base64url and 7 base36 characters). A longer run of base64url
	// characters may be one, whatever prefix precedes it.
	minSecretRun = 34

	redactedMark  = "[REDACTED]"
	truncatedMark = "[TRUNCATED]"
)

// gitlabToken matches GitLab's token shapes: a "gl" prefix naming the kind
// (glpat-, gldt-, glrt-, gloas-, ...) and a random part.
var gitlabToken = regexp.MustCompile(`(?i)gl[a-z]{1,10}-[0-9a-z_-]{20,}`)

// redactor writes the URL of a request for a log without the secrets it
// may carry. Every path segment, parameter name and parameter value is
// percent-decoded (leniently: a malformed escape stays as it is) and
// examined; in the logged text, which is the request's own escaped form
// (its RequestURI),
//
//   - the value of any parameter whose name, decoded, with NUL bytes
//     removed, trimmed and case-folded, contains "token" is replaced,
//   - and anywhere else, any text that looks like a secret is replaced:
//     the instance's prefix followed by base64url characters (even a few:
//     a truncated secret is still a secret), a GitLab token shape, and any
//     run of 34 or more base64url characters, the length of a secret
//     without its prefix. The last rule holds whatever the prefix; its price is
//     that a long word without separators (a name or search term of 34
//     characters or more) is redacted too.
//
// The result is at most maxLoggedURL bytes plus truncatedMark.
type redactor struct {
	prefix []byte // the instance's secret prefix, in ASCII lower case
	// class is urlClass with urlPrefix added on the prefix's first byte,
	// in both cases.
	class *[256]uint8
}

func newRedactor(prefix string) redactor {
	rd := redactor{prefix: []byte(asciiLower(prefix)), class: new(urlClass)}
	*rd.class = urlClass
	if len(rd.prefix) > 0 {
		c := rd.prefix[0]
		rd.class[c] |= urlPrefix
		if 'a' <= c && c <= 'z' {
			rd.class[c-'a'+'A'] |= urlPrefix
		}
	}
	return rd
}

// url returns r's path and query as the client sent them (its
// RequestURI, which a prefix stripped by the host's mux does not change),
// or as r.URL escapes them when r has no RequestURI in origin form (a
// request made in process, "*", an absolute URL), redacted and capped.
func (rd redactor) url(r *http.Request) string {
	var path, query string
	var hasQuery bool
	if strings.HasPrefix(r.RequestURI, "/") {
		path, query, hasQuery = strings.Cut(r.RequestURI, "?")
	} else if r.URL != nil {
		path, query = r.URL.EscapedPath(), r.URL.RawQuery
		hasQuery = query != "" || r.URL.ForceQuery
	} else {
		return ""
	}
	if s, ok := rd.plain(path, query, hasQuery); ok {
		return s
	}
	return rd.redacted(path, query, hasQuery)
}

// minShapeRun is the length of the shortest text gitlabToken matches: "gl",
// one letter, "-" and 20 characters, every one of them base64url.
const minShapeRun = 2 + 1 + 1 + 20

// plain returns what redacted returns for path and query, and true, when
// it can tell at a glance that redacted would change nothing, as for
// almost every request: every byte printable ASCII other than '%' and '+'
// (so that decoding changes nothing), no run of base64url characters as
// long as minShapeRun (minSecretRun is longer), no occurrence of the
// instance's prefix, no "token" in the query (in a parameter's name it
// would redact the value), and no more than maxLoggedURL bytes in all.
// Without a query it allocates nothing.
func (rd redactor) plain(path, query string, hasQuery bool) (string, bool) {
	if len(path)+1+len(query) > maxLoggedURL {
		return "", false
	}
	if !rd.plainPiece(path) || !rd.plainPiece(query) || containsFold(query, []byte("token")) {
		return "", false
	}
	if !hasQuery {
		return path, true
	}
	return path + "?" + query, true
}

// plainPiece reports whether s holds only printable ASCII other than '%'
// and '+', no run of base64url characters as long as minShapeRun, and no
// occurrence of the instance's prefix: plain's rules for the path or the
// query, in one pass over s.
func (rd redactor) plainPiece(s string) bool {
	class := rd.class
	if class == nil { // the zero redactor: no prefix
		class = &urlClass
	}
	var seen uint8 // the classes of s's bytes
	run := 0
	for i := 0; i < len(s); i++ {
		k := class[s[i]]
		seen |= k
		// One more base64url character, or none: no branch to mispredict
		// where words and separators alternate.
		run = (run + 1) * int(k&urlBase64)
		if run >= minShapeRun || k&urlPrefix != 0 && hasPrefixFold(s[i:], rd.prefix) {
			return false
		}
	}
	return seen&urlOther == 0
}

// Classes of urlClass and redactor.class: bits.
const (
	urlBase64 = 1 << iota // base64url
	urlOther              // anything plain leaves to redacted
	urlPrefix             // the first byte of the redactor's prefix
)

// urlClass is the class of each byte for plainPiece: 0 for printable
// ASCII that is neither base64url, '%' nor '+'.
var urlClass = func() (t [256]uint8) {
	for c := range len(t) {
		switch b := byte(c); {
		case b <= ' ' || b >= 0x7f || b == '%' || b == '+':
			t[c] = urlOther
		case isBase64URL(b):
			t[c] = urlBase64
		}
	}
	return t
}()

// containsFold reports whether s contains sub, which is in ASCII lower
// case, ignoring the case of ASCII letters; an empty sub is contained in
// nothing.
func containsFold(s string, sub []byte) bool {
	for i := range len(s) {
		if hasPrefixFold(s[i:], sub) {
			return true
		}
	}
	return false
}

// hasPrefixFold reports whether s begins with sub, which is not empty and
// in ASCII lower case, ignoring the case of ASCII letters.
func hasPrefixFold(s string, sub []byte) bool {
	if len(sub) == 0 || len(s) < len(sub) {
		return false
	}
	for j, c := range sub {
		if lowerASCII(s[j]) != c {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// redacted returns path and, if hasQuery, query, with whatever looks like
// a secret replaced, capped.
func (rd redactor) redacted(path, query string, hasQuery bool) string {
	truncated := false
	if len(path) > maxScannedURL {
		path, query, hasQuery, truncated = cutAfterLast(path[:maxScannedURL], "/"), "", false, true
	} else if hasQuery && len(path)+1+len(query) > maxScannedURL {
		query, truncated = cutAfterLast(query[:maxScannedURL-len(path)-1], "&;"), true
	}

	var b strings.Builder
	var scratch text
	full := func() bool { return b.Len() > maxLoggedURL }
	for rest, first := path, true; !full(); first = false {
		if !first {
			b.WriteByte('/')
		}
		seg, after, more := strings.Cut(rest, "/")
		scratch.redact(&b, rd, seg, false)
		if !more {
			break
		}
		rest = after
	}
	if hasQuery && !full() {
		b.WriteByte('?')
		for rest := query; rest != "" && !full(); {
			i := strings.IndexAny(rest, "&;")
			pair := rest
			if i >= 0 {
				pair, rest = rest[:i+1], rest[i+1:]
			} else {
				rest = ""
			}
			sep := ""
			if n := len(pair) - 1; pair[n] == '&' || pair[n] == ';' {
				pair, sep = pair[:n], pair[n:]
			}
			name, value, eq := strings.Cut(pair, "=")
			scratch.redact(&b, rd, name, true)
			switch {
			case eq && value != "" && credentialName(name):
				b.WriteString("=" + redactedMark)
			case eq:
				b.WriteByte('=')
				scratch.redact(&b, rd, value, true)
			}
			b.WriteString(sep)
		}
	}
	s := b.String()
	if len(s) > maxLoggedURL {
		s, truncated = s[:maxLoggedURL], true
	}
	if truncated {
		s += truncatedMark
	}
	return s
}

// cutAfterLast returns s up to and including its last byte in seps, or ""
// when it has none.
func cutAfterLast(s, seps string) string {
	return s[:strings.LastIndexAny(s, seps)+1]
}

// credentialName reports whether a parameter name, as sent, may name a
// credential: decoded, without NUL bytes, trimmed and case-folded, it
// contains "token".
func credentialName(raw string) bool {
	var t text
	t.decode(raw, true)
	name := strings.ReplaceAll(string(t.dec), "\x00", "")
	return strings.Contains(strings.ToLower(strings.TrimSpace(name)), "token")
}

// text is the decoded form of one piece of a URL, with the offset in the
// raw piece where each decoded byte starts, so that what is found in the
// decoded text can be cut from the raw one. It is reused from piece to
// piece.
type text struct {
	dec  []byte
	off  []int // len(dec)+1 offsets into the raw piece
	mask []bool
}

// decode percent-decodes raw; plus turns '+' into a space, as in a query.
func (t *text) decode(raw string, plus bool) {
	t.dec, t.off = t.dec[:0], t.off[:0]
	for i := 0; i < len(raw); {
		t.off = append(t.off, i)
		c := raw[i]
		switch {
		case c == '%' && i+2 < len(raw) && isHex(raw[i+1]) && isHex(raw[i+2]):
			t.dec = append(t.dec, unhex(raw[i+1])<<4|unhex(raw[i+2]))
			i += 3
			continue
		case c == '+' && plus:
			c = ' '
		}
		t.dec = append(t.dec, c)
		i++
	}
	t.off = append(t.off, len(raw))
}

// redact writes raw to b with what looks like a secret replaced by
// redactedMark.
func (t *text) redact(b *strings.Builder, rd redactor, raw string, plus bool) {
	t.decode(raw, plus)
	if !t.find(rd) {
		b.WriteString(raw)
		return
	}
	prev := 0
	for i := 0; i < len(t.dec); {
		if !t.mask[i] {
			i++
			continue
		}
		j := i
		for j < len(t.dec) && t.mask[j] {
			j++
		}
		b.WriteString(raw[prev:t.off[i]])
		b.WriteString(redactedMark)
		prev = t.off[j]
		i = j
	}
	b.WriteString(raw[prev:])
}

// find marks in t.mask the decoded bytes that belong to something that
// looks like a secret, and reports whether there are any. plain skips it
// for a URL it can tell holds none of these: a rule added here must be
// one plain also sends to redacted (TestPlainURL).
func (t *text) find(rd redactor) bool {
	if n := len(t.dec); cap(t.mask) < n {
		t.mask = make([]bool, n)
	} else {
		t.mask = t.mask[:n]
		clear(t.mask)
	}
	found := false
	mark := func(i, j int) {
		for k := i; k < j; k++ {
			t.mask[k] = true
		}
		found = true
	}
	// Long base64url runs.
	for i := 0; i < len(t.dec); {
		if !isBase64URL(t.dec[i]) {
			i++
			continue
		}
		j := i
		for j < len(t.dec) && isBase64URL(t.dec[j]) {
			j++
		}
		if j-i >= minSecretRun {
			mark(i, j)
		}
		i = j
	}
	// The instance's prefix followed by anything a secret is made of.
	if p := rd.prefix; len(p) > 0 && len(t.dec) > len(p) {
		lower := []byte(asciiLower(string(t.dec)))
		for i := 0; ; {
			k := bytes.Index(lower[i:], p)
			if k < 0 {
				break
			}
			start := i + k
			end := start + len(p)
			for end < len(t.dec) && (isBase64URL(t.dec[end]) || t.dec[end] == '.') {
				end++
			}
			if end > start+len(p) {
				mark(start, end)
			}
			i = start + 1
		}
	}
	// GitLab's token shapes.
	for _, m := range gitlabToken.FindAllIndex(t.dec, -1) {
		mark(m[0], m[1])
	}
	return found
}

func isBase64URL(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// asciiLower lower-cases ASCII letters only, keeping every byte where it
// is.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = lowerASCII(c)
	}
	return string(b)
}

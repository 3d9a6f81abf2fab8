package main

import (
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"
)

// appendText appends r as a slog.TextHandler made with no options,
// attributes or groups writes it, and reports true; or it appends nothing
// and reports false, for a record holding what it does not write itself:
// a value other than an ASCII string, an integer, a boolean or a
// duration, or an attribute without a key. It is the request log's path:
// httpapi's record of a request, which the TextHandler formats in about
// 0.5 µs, this formats in about 0.14, the largest part of what the
// request log costs a request. TestAppendText holds it to the
// TextHandler's output.
func appendText(b []byte, r slog.Record) ([]byte, bool) {
	n := len(b)
	if !r.Time.IsZero() {
		b = append(b, "time="...)
		b = appendRFC3339Millis(b, r.Time.Round(0))
		b = append(b, ' ')
	}
	b = append(b, "level="...)
	b, _ = appendTextString(b, r.Level.String()) // ASCII
	b = append(b, " msg="...)
	b, ok := appendTextString(b, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		if !ok {
			return false
		}
		b = append(b, ' ')
		if b, ok = appendTextString(b, a.Key); !ok || a.Key == "" {
			ok = false
			return false
		}
		b = append(b, '=')
		switch v := a.Value; v.Kind() {
		case slog.KindString:
			b, ok = appendTextString(b, v.String())
		case slog.KindInt64:
			b = strconv.AppendInt(b, v.Int64(), 10)
		case slog.KindUint64:
			b = strconv.AppendUint(b, v.Uint64(), 10)
		case slog.KindBool:
			b = strconv.AppendBool(b, v.Bool())
		case slog.KindDuration:
			b = append(b, v.Duration().String()...)
		default:
			ok = false
		}
		return ok
	})
	if !ok {
		return b[:n], false
	}
	return append(b, '\n'), true
}

// What textClass says of a byte.
const (
	quoted   = 1 << iota // the TextHandler quotes a string that holds it
	escaped              // strconv.Quote escapes it
	notASCII             // appendText leaves the string to the TextHandler
)

// textClass classifies bytes for appendTextString, by the TextHandler's
// rule for ASCII: it quotes the empty string and one that holds a space,
// an equals sign, a double quote or a control character.
var textClass = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case c >= 0x80:
			t[c] = notASCII
		case c < 0x20 || c == '"':
			t[c] = quoted | escaped
		case c == ' ' || c == '=':
			t[c] = quoted
		case c == '\\' || c == 0x7f:
			t[c] = escaped
		}
	}
	return t
}()

// appendTextString appends s as the TextHandler does, quoted as
// strconv.Quote quotes it or as it is, and reports true; or it appends
// nothing and reports false if s is not ASCII.
func appendTextString(b []byte, s string) ([]byte, bool) {
	var class uint8
	for i := range len(s) {
		class |= textClass[s[i]]
	}
	switch {
	case class&notASCII != 0:
		return b, false
	case s != "" && class&quoted == 0:
		return append(b, s...), true
	case class&escaped == 0:
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"'), true
	}
	return strconv.AppendQuote(b, s), true
}

// appendRFC3339Millis appends t as the TextHandler does: RFC 3339 with
// exactly three digits of fraction, truncated. The date, time and zone
// of t's second are formatted once a second (time.Time's formatting is
// most of what the line costs to write) and kept in lastSecond.
func appendRFC3339Millis(b []byte, t time.Time) []byte {
	sec, loc := t.Unix(), t.Location()
	s := lastSecond.Load()
	if s == nil || s.unix != sec || s.loc != loc {
		// Only years of four digits are kept, so a second found here
		// needs no check of its year.
		if y := t.Year(); y < 0 || y > 9999 {
			return appendRFC3339MillisSlow(b, t)
		}
		s = &secondText{unix: sec, loc: loc}
		text := t.AppendFormat(s.date[:0], time.RFC3339)
		s.zone = string(text[len(s.date):])
		lastSecond.Store(s)
	}
	ms := t.Nanosecond() / 1e6
	b = append(b, s.date[:]...)
	b = append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	return append(b, s.zone...)
}

// secondText is a second formatted by appendRFC3339Millis.
type secondText struct {
	unix int64
	loc  *time.Location
	date [len("2006-01-02T15:04:05")]byte
	zone string // "Z" or "+01:00"
}

// lastSecond is the second appendRFC3339Millis formatted last.
var lastSecond atomic.Pointer[secondText]

// appendRFC3339MillisSlow is appendRFC3339Millis for any year.
func appendRFC3339MillisSlow(b []byte, t time.Time) []byte {
	const prefixLen = len("2006-01-02T15:04:05.000")
	n := len(b)
	// RFC3339Nano trims trailing zeros: a tenth of a millisecond more
	// keeps four digits, of which the fourth is dropped.
	t = t.Truncate(time.Millisecond).Add(time.Millisecond / 10)
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b[:n+prefixLen], b[n+prefixLen+1:]...)
}

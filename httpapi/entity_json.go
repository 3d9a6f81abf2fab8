package httpapi

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The token entity is the body of most answers, and encoding/json's
// reflection was half of the time httpapi spends on GET
// /personal_access_tokens/self. appendJSON writes the same bytes as
// json.Marshal directly; TestEntityJSON holds it to json.Marshal for
// every field and a range of strings.

// jsonAppender is a body that writes itself as json.Marshal would.
type jsonAppender interface {
	appendJSON(b []byte) []byte
}

// appendJSON appends e as json.Marshal encodes it.
func (e *entity) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, e.ID, 10)
	b = append(b, `,"name":`...)
	b = appendString(b, e.Name)
	b = append(b, `,"revoked":`...)
	b = strconv.AppendBool(b, e.Revoked)
	b = append(b, `,"created_at":`...)
	b = appendTime(b, time.Time(e.CreatedAt), timestampLayout)
	b = append(b, `,"description":`...)
	if e.Description == nil {
		b = append(b, "null"...)
	} else {
		b = appendString(b, *e.Description)
	}
	b = append(b, `,"scopes":`...)
	if e.Scopes == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, s := range e.Scopes {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, string(s))
		}
		b = append(b, ']')
	}
	b = append(b, `,"user_id":`...)
	b = strconv.AppendInt(b, e.UserID, 10)
	b = append(b, `,"last_used_at":`...)
	if e.LastUsedAt == nil {
		b = append(b, "null"...)
	} else {
		b = appendTime(b, time.Time(*e.LastUsedAt), timestampLayout)
	}
	b = append(b, `,"active":`...)
	b = strconv.AppendBool(b, e.Active)
	b = append(b, `,"granular":`...)
	b = strconv.AppendBool(b, e.Granular)
	b = append(b, `,"expires_at":`...)
	if e.ExpiresAt == nil {
		b = append(b, "null"...)
	} else {
		b = appendTime(b, time.Time(*e.ExpiresAt), time.DateOnly)
	}
	if e.LastUsedIPs != nil {
		b = append(b, `,"last_used_ips":`...)
		if *e.LastUsedIPs == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for i, ip := range *e.LastUsedIPs {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendString(b, ip)
			}
			b = append(b, ']')
		}
	}
	if e.Impersonation != nil {
		b = append(b, `,"impersonation":`...)
		b = strconv.AppendBool(b, *e.Impersonation)
	}
	if e.AccessLevel != nil {
		b = append(b, `,"access_level":`...)
		b = strconv.AppendInt(b, int64(*e.AccessLevel), 10)
	}
	if e.ResourceType != nil {
		b = append(b, `,"resource_type":`...)
		b = appendString(b, *e.ResourceType)
	}
	if e.ResourceID != nil {
		b = append(b, `,"resource_id":`...)
		b = strconv.AppendInt(b, *e.ResourceID, 10)
	}
	if len(e.AllowedCIDRs) > 0 {
		b = append(b, `,"allowed_cidrs":[`...)
		for i, c := range e.AllowedCIDRs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, c)
		}
		b = append(b, ']')
	}
	if n := e.noticeFields; n != nil {
		b = append(b, `,"expire_notification_delivered":`...)
		b = strconv.AppendBool(b, n.ExpireNotificationDelivered)
		for _, f := range []struct {
			name string
			at   *timestamp
		}{
			{`,"seven_days_notification_sent_at":`, n.SevenDaysNotificationSentAt},
			{`,"thirty_days_notification_sent_at":`, n.ThirtyDaysNotificationSentAt},
			{`,"sixty_days_notification_sent_at":`, n.SixtyDaysNotificationSentAt},
		} {
			b = append(b, f.name...)
			if f.at == nil {
				b = append(b, "null"...)
				continue
			}
			b = appendTime(b, time.Time(*f.at), timestampLayout)
		}
		b = append(b, `,"after_expiry_notification_delivered":`...)
		b = strconv.AppendBool(b, n.AfterExpiryNotificationDelivered)
	}
	if e.Token != nil {
		b = append(b, `,"token":`...)
		b = appendString(b, *e.Token)
	}
	return append(b, '}')
}

// appendJSON appends the page as json.Marshal encodes a slice of its
// entities (the slice of a page of 20 was a third of the bytes allocated
// to answer it): an array, [] for no tokens, whether the store returned
// nil or an empty slice.
func (p entityPage) appendJSON(b []byte) []byte {
	b = append(b, '[')
	for i, t := range p.toks {
		if i > 0 {
			b = append(b, ',')
		}
		var v entityValues
		e := render(t, p.kind, "", p.now, &v)
		b = e.appendJSON(b)
	}
	return append(b, ']')
}

const timestampLayout = "2006-01-02T15:04:05.000Z"

// appendTime appends t in UTC formatted by layout, as a JSON string.
// timestampLayout and time.DateOnly of a year from 0 to 9999 are written
// here, byte for byte as AppendFormat writes them (TestAppendTime), from
// Date and Clock: AppendFormat parses its layout on every call, and the
// times of a page of 20 entities were a fifth of the instructions httpapi
// spent on it.
func appendTime(b []byte, t time.Time, layout string) []byte {
	b = append(b, '"')
	t = t.UTC()
	year, month, day := t.Date()
	if layout != timestampLayout && layout != time.DateOnly || year < 0 || year > 9999 {
		b = t.AppendFormat(b, layout)
		return append(b, '"')
	}
	var f [len(timestampLayout)]byte // written in place, appended once
	putPair(f[0:], year/100)
	putPair(f[2:], year%100)
	f[4] = '-'
	putPair(f[5:], int(month))
	f[7] = '-'
	putPair(f[8:], day)
	if layout == time.DateOnly {
		b = append(b, f[:len(time.DateOnly)]...)
		return append(b, '"')
	}
	hour, minute, sec := t.Clock()
	f[10] = 'T'
	putPair(f[11:], hour)
	f[13] = ':'
	putPair(f[14:], minute)
	f[16] = ':'
	putPair(f[17:], sec)
	ms := t.Nanosecond() / 1e6 // truncated, as ".000" is
	f[19], f[20] = '.', byte('0'+ms/100)
	putPair(f[21:], ms%100)
	f[23] = 'Z'
	b = append(b, f[:]...)
	return append(b, '"')
}

// putPair writes the two decimal digits of 0 <= v < 100 at the start of
// b.
func putPair(b []byte, v int) {
	const pairs = "00010203040506070809" + "10111213141516171819" + "20212223242526272829" +
		"30313233343536373839" + "40414243444546474849" + "50515253545556575859" +
		"60616263646566676869" + "70717273747576777879" + "80818283848586878889" +
		"90919293949596979899"
	b[0], b[1] = pairs[2*v], pairs[2*v+1]
}

// appendString appends s as a JSON string, as encoding/json writes it:
// a string of printable ASCII other than the characters it escapes is
// copied between quotes; any other is left to encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !jsonPlain[s[i]] {
			// A string always encodes. Marshal is given a copy: what an
			// interface holds escapes, and s may be in an entity on the
			// stack.
			q, _ := json.Marshal(strings.Clone(s))
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// jsonPlain reports the bytes that encoding/json writes as they are in a
// string: ASCII from the space up, other than '"', '\\' and, as
// json.Marshal escapes them for HTML, '<', '>' and '&'.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = !strings.ContainsRune(`"\<>&`, rune(c))
	}
	return t
}()

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

// entityList is a page of entities, as a JSON array.
type entityList []entity

func (l entityList) appendJSON(b []byte) []byte {
	if l == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = l[i].appendJSON(b)
	}
	return append(b, ']')
}

const timestampLayout = "2006-01-02T15:04:05.000Z"

// appendTime appends t in UTC formatted by layout, as a JSON string.
// timestampLayout and time.DateOnly of a year from 0 to 9999 are written
// here, byte for byte as AppendFormat writes them (TestAppendTime):
// AppendFormat parses its layout on every call, and the times of a page of
// 20 entities were a fifth of the instructions httpapi spent on it.
func appendTime(b []byte, t time.Time, layout string) []byte {
	b = append(b, '"')
	t = t.UTC()
	year, month, day := t.Date()
	if layout != timestampLayout && layout != time.DateOnly || year < 0 || year > 9999 {
		b = t.AppendFormat(b, layout)
		return append(b, '"')
	}
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	if layout == timestampLayout {
		hour, minute, sec := t.Clock()
		b = append(b, 'T')
		b = appendDigits(b, hour, 2)
		b = append(b, ':')
		b = appendDigits(b, minute, 2)
		b = append(b, ':')
		b = appendDigits(b, sec, 2)
		b = append(b, '.')
		b = appendDigits(b, t.Nanosecond()/1e6, 3) // truncated, as ".000" is
		b = append(b, 'Z')
	}
	return append(b, '"')
}

// appendDigits appends the n (at most 4) decimal digits of 0 <= v < 10^n.
func appendDigits(b []byte, v, n int) []byte {
	b = append(b, "0000"[:n]...)
	for i := len(b) - 1; v > 0; i-- {
		b[i] += byte(v % 10)
		v /= 10
	}
	return b
}

// appendString appends s as a JSON string, as encoding/json writes it:
// a string of printable ASCII other than the characters it escapes is
// copied between quotes; any other is left to encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
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

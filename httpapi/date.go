package httpapi

import (
	"net/http"
	"sync/atomic"
	"time"
)

// setDate sets h's Date header to the current second, as net/http would
// when it writes the header, unless h has one: set by the host, or
// suppressed with a nil value as net/http documents. net/http formats the
// Date of every response (time.Time.AppendFormat, about 1,900
// instructions); the API formats it once a second.
func setDate(h http.Header) {
	if _, ok := h["Date"]; !ok {
		h["Date"] = dateHeader(time.Now())
	}
}

// dateHeader returns the Date header's value for t, formatted as http.TimeFormat
// once for each second and shared by the answers of that second: a
// header's values are only read, and the slice's capacity makes an append
// copy it.
func dateHeader(t time.Time) []string {
	sec := t.Unix()
	if d := lastDate.Load(); d != nil && d.unix == sec {
		return d.value
	}
	d := &dateValue{unix: sec, value: []string{t.UTC().Format(http.TimeFormat)}[:1:1]}
	lastDate.Store(d)
	return d.value
}

// dateValue is a second's Date header.
type dateValue struct {
	unix  int64
	value []string
}

// lastDate is the second dateHeader formatted last.
var lastDate atomic.Pointer[dateValue]

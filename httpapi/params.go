package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patkit/patkit"
)

// value is one request parameter as sent: from the query string or a form
// body (strs, list when sent as key[] or repeated), or from a JSON body
// (js, any JSON value except null).
type value struct {
	strs   []string
	list   bool
	js     any
	isJSON bool
}

// input is the parameters of a request, GitLab-style: the query string,
// then the body (form or JSON) on top.
//
// A request with no parameters allocates none of the maps: each is made
// at its first write (set, addForm, link).
type input struct {
	vals map[string]value
	// rack holds the query and form parameters (not JSON), where GitLab's
	// token finders look for private_token and access_token.
	rack url.Values
	// query is the original query string, for pagination links.
	query url.Values
	// linkParams are the path parameters (and defaulted parameters) that
	// Grape's params hold and pagination links therefore repeat.
	linkParams url.Values
}

// errBodyTooLarge, errBodyTimeout and errMalformed are answered 413, 408
// and 400.
var (
	errBodyTooLarge   = errors.New("httpapi: request body too large")
	errBodyTimeout    = errors.New("httpapi: request body too slow")
	errMalformedJSON  = errors.New("httpapi: malformed JSON body")
	errMalformedQuery = errors.New("httpapi: malformed query or form")
	// errMalformedString is a NUL or invalid UTF-8 in the path or a
	// parameter, which GitLab refuses before routing.
	errMalformedString = errors.New("httpapi: NUL or invalid UTF-8 in the request")
)

// malformed reports whether s holds a NUL or is not valid UTF-8, which
// GitLab refuses in any parameter (see patkit.ValidText).
func malformed(s string) bool { return !patkit.ValidText(s) }

// malformedJSON reports whether a decoded JSON value holds a malformed
// string, looking as deep as GitLab does (three levels).
func malformedJSON(v any, depth int) bool {
	if depth > 3 {
		return false
	}
	switch x := v.(type) {
	case string:
		return malformed(x)
	case []any:
		return slices.ContainsFunc(x, func(e any) bool { return malformedJSON(e, depth+1) })
	case map[string]any:
		for k, e := range x {
			if malformed(k) || malformedJSON(e, depth+1) {
				return true
			}
		}
	}
	return false
}

// checkStrings returns errMalformedString if a parameter name or value of
// in is malformed.
func (in *input) checkStrings() error {
	for k, v := range in.vals {
		if malformed(k) || slices.ContainsFunc(v.strs, malformed) || v.isJSON && malformedJSON(v.js, 1) {
			return errMalformedString
		}
	}
	return nil
}

// parseQuery sets in, empty, to the parameters of r's query string, the
// body still unread.
func parseQuery(r *http.Request, in *input) error {
	if r.URL.RawQuery != "" {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return errMalformedQuery
		}
		in.query = q
		in.addForm(q)
	}
	if malformed(r.URL.Path) {
		return errMalformedString
	}
	return in.checkStrings()
}

// bodyKind is what a request body may hold, by its Content-Type.
type bodyKind int

const (
	bodyNone  bodyKind = iota // no body
	bodyOther                 // a body GitLab does not parse into params
	bodyJSON                  // parameters, where GitLab looks for no credential
	bodyForm                  // URL-encoded or multipart: parameters and maybe a credential
)

func kindOfBody(r *http.Request) bodyKind {
	if r.Body == nil || r.Body == http.NoBody {
		return bodyNone
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return bodyJSON
	case mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data":
		return bodyForm
	}
	return bodyOther
}

// readBody adds the parameters of JSON, URL-encoded and multipart bodies
// (at most limit bytes) on top of the query's. Other bodies are drained
// within the limit and ignored.
func (in *input) readBody(w http.ResponseWriter, r *http.Request, limit int64) error {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	mt, mparams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	isJSON := mt == "application/json" || strings.HasSuffix(mt, "+json")
	if !isJSON && mt != "application/x-www-form-urlencoded" && mt != "multipart/form-data" {
		// Not a format GitLab parses into params: drain within the limit
		// so a huge body still gets 413, and ignore it.
		if _, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, limit)); err != nil {
			return bodyErr(err)
		}
		return nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return bodyErr(err)
	}
	switch {
	case isJSON:
		if len(bytes.TrimSpace(body)) == 0 {
			return nil
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return errMalformedJSON
		}
		if _, err := dec.Token(); err != io.EOF {
			return errMalformedJSON
		}
		// Like Grape, only an object contributes parameters.
		if obj, ok := v.(map[string]any); ok {
			for k, x := range obj {
				if x == nil {
					delete(in.vals, k)
					continue
				}
				in.set(k, value{js: x, isJSON: true})
			}
		}
	case mt == "application/x-www-form-urlencoded":
		f, err := url.ParseQuery(string(body))
		if err != nil {
			return errMalformedQuery
		}
		in.addForm(f)
	default: // multipart/form-data
		boundary := mparams["boundary"]
		if boundary == "" {
			return errMalformedQuery
		}
		form, err := multipart.NewReader(bytes.NewReader(body), boundary).ReadForm(limit)
		if err != nil {
			return errMalformedQuery
		}
		defer form.RemoveAll()
		in.addForm(form.Value)
	}
	return in.checkStrings()
}

func bodyErr(err error) error {
	var mbe *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &mbe):
		return errBodyTooLarge
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return errBodyTimeout
	}
	return errMalformedQuery
}

// sudo returns the Sudo the request asks for: the sudo parameter (a body
// value over a query value, the last of a repeated one), else the Sudo
// header; "" for none.
func (in *input) sudo(r *http.Request) string {
	s := ""
	if v, ok := in.vals["sudo"]; ok {
		if v.isJSON {
			s, _ = scalar(v)
		} else {
			s = in.rackValue("sudo")
		}
	}
	if s == "" {
		s = headerValue(r.Header, "Sudo")
	}
	return s
}

// addForm merges query or form parameters: key[] and repeated keys make a
// list; a later source replaces an earlier one key by key.
func (in *input) addForm(f url.Values) {
	merged := map[string]value{}
	for k, vs := range f {
		if len(vs) == 0 {
			continue
		}
		if in.rack == nil {
			in.rack = url.Values{}
		}
		in.rack[k] = append(in.rack[k], vs...)
		name, bracket := strings.CutSuffix(k, "[]")
		v := merged[name]
		v.strs = append(v.strs, vs...)
		v.list = v.list || bracket || len(v.strs) > 1
		merged[name] = v
	}
	for k, v := range merged {
		in.set(k, v)
	}
}

// set sets the parameter name.
func (in *input) set(name string, v value) {
	if in.vals == nil {
		in.vals = make(map[string]value)
	}
	in.vals[name] = v
}

// link adds a parameter that pagination links repeat.
func (in *input) link(name, v string) {
	if in.linkParams == nil {
		in.linkParams = url.Values{}
	}
	in.linkParams.Set(name, v)
}

// rackValue returns the query or form value of name as Rack reads it: the
// last, a form body's over the query's.
func (in *input) rackValue(name string) string { return lastValue(in.rack, name) }

// lastValue returns the last value of name in vs, "" if none: what Rack
// keeps of a parameter repeated without brackets.
func lastValue(vs url.Values, name string) string {
	if v := vs[name]; len(v) > 0 {
		return v[len(v)-1]
	}
	return ""
}

// checker validates parameters as Grape does, collecting failures in
// declaration order.
type checker struct {
	in   *input
	errs []string
}

// paramError is a failed Grape validation: 400 {"error":"<msgs joined>"}.
type paramError struct{ msgs []string }

func (e *paramError) Error() string { return strings.Join(e.msgs, ", ") }

func (c *checker) fail(name, reason string) { c.errs = append(c.errs, name+" "+reason) }

// err returns the collected failures, or nil.
func (c *checker) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	return &paramError{msgs: c.errs}
}

// raw returns the parameter; blank reports an empty scalar, which Grape
// coerces to nil for every type but String.
func (c *checker) raw(name string) (v value, ok, blank bool) {
	v, ok = c.in.vals[name]
	if !ok {
		return v, false, false
	}
	if v.isJSON {
		s, isStr := v.js.(string)
		return v, true, isStr && s == ""
	}
	return v, true, !v.list && v.strs[0] == ""
}

// scalar returns the string form of a scalar parameter, or false if the
// parameter is a list or a JSON object or array.
func scalar(v value) (string, bool) {
	if !v.isJSON {
		if v.list {
			return "", false
		}
		return v.strs[0], true
	}
	switch x := v.js.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// String returns a String parameter.
func (c *checker) String(name string, required bool) string {
	v, ok, _ := c.raw(name)
	if !ok {
		if required {
			c.fail(name, "is missing")
		}
		return ""
	}
	if v.isJSON {
		if _, isBool := v.js.(bool); isBool {
			c.fail(name, "is invalid")
			return ""
		}
	}
	s, ok := scalar(v)
	if !ok {
		c.fail(name, "is invalid")
		return ""
	}
	return s
}

// Int returns an Integer parameter; present reports whether it was given
// (a blank value counts as absent).
func (c *checker) Int(name string, required bool) (n int64, present bool) {
	v, ok, blank := c.raw(name)
	if !ok || blank {
		if required {
			c.fail(name, "is missing")
		}
		return 0, false
	}
	n, ok = parseInt(v)
	if !ok {
		c.fail(name, "is invalid")
		return 0, false
	}
	return n, true
}

func parseInt(v value) (int64, bool) {
	if v.isJSON {
		if num, isNum := v.js.(json.Number); isNum {
			if n, err := num.Int64(); err == nil {
				return n, true
			}
			f, err := num.Float64()
			if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
				return 0, false
			}
			return int64(f), true
		}
	}
	s, ok := scalar(v)
	if !ok {
		return 0, false
	}
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "+")
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// Bool returns a Boolean parameter, nil when absent.
func (c *checker) Bool(name string) *bool {
	v, ok, blank := c.raw(name)
	if !ok || blank {
		return nil
	}
	if v.isJSON {
		if b, isBool := v.js.(bool); isBool {
			return &b
		}
	}
	s, ok := scalar(v)
	if ok {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "1", "t", "true", "y", "yes", "on":
			return new(true)
		case "0", "f", "false", "n", "no", "off":
			return new(false)
		}
	}
	c.fail(name, "is invalid")
	return nil
}

// Date returns a Date parameter as midnight UTC, the zero Time when absent.
// The zero Time's own date, 0001-01-01, is invalid: the Service reads the
// zero Time as no date given.
func (c *checker) Date(name string) time.Time {
	return c.instant(name, parseDate)
}

// instant returns the parameter name as parse reads it, the zero Time when
// absent. A value that parse refuses, or reads as the zero Time, is
// invalid.
func (c *checker) instant(name string, parse func(string) (time.Time, bool)) time.Time {
	v, ok, blank := c.raw(name)
	if !ok || blank {
		return time.Time{}
	}
	if s, ok := scalar(v); ok {
		if t, ok := parse(strings.TrimSpace(s)); ok && !t.IsZero() {
			return t
		}
	}
	c.fail(name, "is invalid")
	return time.Time{}
}

func parseDate(s string) (time.Time, bool) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, true
	}
	// A timestamp names the date it is written with, as Ruby's
	// Date.parse reads it.
	if t, ok := parseTime(s); ok {
		y, m, d := t.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), true
	}
	return time.Time{}, false
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
}

func parseTime(s string) (time.Time, bool) {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// DateTime returns a DateTime parameter in UTC (a date alone is midnight
// UTC), the zero Time when absent. The zero Time itself,
// 0001-01-01T00:00:00Z, is invalid, as for Date.
func (c *checker) DateTime(name string) time.Time {
	return c.instant(name, parseDateTime)
}

func parseDateTime(s string) (time.Time, bool) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, true
	}
	if t, ok := parseTime(s); ok {
		return t.UTC(), true
	}
	return time.Time{}, false
}

// Scopes returns an Array[String] of scopes. comma accepts
// comma-separated strings (GitLab's CommaSeparatedToArray); allowed, when
// non-nil, is the values: list.
func (c *checker) Scopes(name string, required, comma bool, allowed []patkit.Scope) []patkit.Scope {
	v, ok := c.in.vals[name]
	if !ok {
		if required {
			c.fail(name, "is missing")
		}
		return nil
	}
	strs, ok := c.strings(name, v, comma)
	if !ok {
		return nil
	}
	if comma {
		var split []string
		for _, s := range strs {
			split = append(split, rubySplit(s)...)
		}
		strs = split
	}
	out := make([]patkit.Scope, 0, len(strs))
	for _, s := range strs {
		sc := patkit.Scope(s)
		if allowed != nil && !slices.Contains(allowed, sc) {
			c.fail(name, "does not have a valid value")
			return nil
		}
		out = append(out, sc)
	}
	return out
}

// strings returns the strings of a list parameter: its values, or from
// JSON an array of strings, or one string where the list may be one
// comma-separated string (comma). Anything else fails "is invalid".
func (c *checker) strings(name string, v value, comma bool) ([]string, bool) {
	if !v.isJSON {
		return v.strs, true
	}
	switch x := v.js.(type) {
	case []any:
		strs := make([]string, 0, len(x))
		for _, e := range x {
			s, isStr := e.(string)
			if !isStr {
				c.fail(name, "is invalid")
				return nil, false
			}
			strs = append(strs, s)
		}
		return strs, true
	case string:
		if comma {
			return []string{x}, true
		}
	}
	c.fail(name, "is invalid")
	return nil, false
}

// CIDRs returns the allowed_cidrs extension parameter: networks given as
// an array (name[]=..., a JSON array) or as comma-separated strings, as
// scopes are, each a CIDR prefix or a bare address (patkit.ParseCIDR).
// Spaces around each are ignored and empty ones dropped, so that an empty
// array, an empty string or a JSON [] mean no restriction (nil). Anything
// that does not parse fails "is invalid"; more than
// patkit.MaxAllowedCIDRs fails as Grape's length validator does.
// Normalizing the list (masking, unmapping, dropping duplicates) is the
// Service's.
func (c *checker) CIDRs(name string) []netip.Prefix {
	v, ok := c.in.vals[name]
	if !ok {
		return nil
	}
	strs, ok := c.strings(name, v, true)
	if !ok {
		return nil
	}
	var out []netip.Prefix
	for _, s := range strs {
		for part := range strings.SplitSeq(s, ",") {
			if part = strings.TrimSpace(part); part == "" {
				continue
			}
			p, err := patkit.ParseCIDR(part)
			if err != nil {
				c.fail(name, "is invalid")
				return nil
			}
			out = append(out, p)
		}
	}
	if len(out) > patkit.MaxAllowedCIDRs {
		c.fail(name, "is expected to have length less than or equal to "+strconv.Itoa(patkit.MaxAllowedCIDRs))
		return nil
	}
	return out
}

// rubySplit splits on commas and strips the parts, dropping trailing empty
// parts as Ruby's String#split does.
func rubySplit(s string) []string {
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// maxPage bounds page so that offsets cannot overflow; beyond it every page
// is empty anyway.
const maxPage = math.MaxInt32

// filter reads the list filters of GET /personal_access_tokens and
// pagination.
func (c *checker) filter() patkit.Filter {
	var f patkit.Filter
	f.Revoked = c.Bool("revoked")
	f.State = c.state(false)
	f.CreatedBefore = c.DateTime("created_before")
	f.CreatedAfter = c.DateTime("created_after")
	f.LastUsedBefore = c.DateTime("last_used_before")
	f.LastUsedAfter = c.DateTime("last_used_after")
	f.ExpiresBefore = c.Date("expires_before")
	f.ExpiresAfter = c.Date("expires_after")
	f.Search = c.String("search", false)
	f.Sort = patkit.Sort(c.String("sort", false))
	f.Page, f.PerPage = c.pagination()
	return f
}

// state reads state: active or inactive, and all when withAll.
func (c *checker) state(withAll bool) patkit.State {
	s := c.String("state", false)
	switch {
	case s == "active":
		return patkit.StateActive
	case s == "inactive":
		return patkit.StateInactive
	case s == "all" && withAll:
		return patkit.StateAny
	case s == "" && !c.has("state"):
		return patkit.StateAny
	}
	if !c.lastFailed("state") {
		c.fail("state", "does not have a valid value")
	}
	return patkit.StateAny
}

func (c *checker) has(name string) bool { _, ok := c.in.vals[name]; return ok }

func (c *checker) lastFailed(name string) bool {
	return len(c.errs) > 0 && strings.HasPrefix(c.errs[len(c.errs)-1], name+" ")
}

// pagination reads page and per_page.
func (c *checker) pagination() (page, perPage int) {
	p, ok := c.Int("page", false)
	if ok {
		page = int(min(max(p, 0), maxPage))
	}
	pp, ok := c.Int("per_page", false)
	if ok {
		if pp == 0 {
			c.fail("per_page", "has a value not allowed")
		}
		perPage = int(min(max(pp, -1), 100))
	}
	return page, perPage
}

// oneOf reads a String parameter declared with values: ("does not have a
// valid value" otherwise); absent is "".
func (c *checker) oneOf(name string, values ...string) string {
	if !c.has(name) {
		return ""
	}
	s := c.String(name, false)
	if c.lastFailed(name) {
		return ""
	}
	if !slices.Contains(values, s) {
		c.fail(name, "does not have a valid value")
		return ""
	}
	return s
}

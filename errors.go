package patkit

import (
	"errors"
	"strings"
)

// Sentinel errors. Every refusal a Service method returns is an *Error whose
// Code is exactly one of them, so callers can branch with errors.Is; the
// httpapi package maps each to GitLab's status and body.
//
// Every other error is a failure of the Store, the Directory or the
// context, returned wrapped with the operation ("patkit: list tokens: ...")
// so that what they returned stays reachable with errors.Is and errors.As:
// ErrUnavailable when a Store could not reach its database (HTTP 503),
// context.Canceled or context.DeadlineExceeded when ctx ended first (httpapi
// answers a client that went away without logging an error), and anything
// else is a fault (HTTP 500, logged). A failed operation changes nothing.
var (
	// ErrNotFound reports that a token, user, project or group does not exist
	// or is hidden from the caller (HTTP 404).
	ErrNotFound = errors.New("patkit: not found")
	// ErrUnauthorized reports a missing or unknown credential, or a denial for
	// which GitLab hides the existence of the target (HTTP 401).
	ErrUnauthorized = errors.New("patkit: unauthorized")
	// ErrForbidden reports that the caller is known but not allowed (HTTP 403).
	ErrForbidden = errors.New("patkit: forbidden")
	// ErrBadRequest reports a request GitLab refuses with "400 Bad request"
	// and a reason, such as a revoke the policy does not permit (HTTP 400).
	ErrBadRequest = errors.New("patkit: bad request")
	// ErrInvalid reports that a token attribute failed validation; the
	// *Error's Fields say which and why.
	ErrInvalid = errors.New("patkit: invalid")
	// ErrNotAllowed reports a method GitLab answers with 405, such as
	// self-rotation by a credential that is not an access token.
	ErrNotAllowed = errors.New("patkit: method not allowed")
	// ErrConflict is returned by a Store when a token digest already exists.
	ErrConflict = errors.New("patkit: conflict")

	// ErrTokenExpired reports that the presented token has expired.
	ErrTokenExpired = errors.New("patkit: token is expired")
	// ErrTokenRevoked reports that the presented token was revoked.
	ErrTokenRevoked = errors.New("patkit: token was revoked")
	// ErrImpersonationDisabled reports an impersonation token presented while
	// the instance has impersonation disabled.
	ErrImpersonationDisabled = errors.New("patkit: impersonation is disabled")
	// ErrAddressNotAllowed reports that the presented token is bound to
	// networks (Token.AllowedCIDRs) and the client address is in none of
	// them, or unknown.
	ErrAddressNotAllowed = errors.New("patkit: client address not allowed for this token")
	// ErrInsufficientScope reports that the token holds none of the scopes an
	// operation allows; the *Error's Scopes list the allowed ones.
	ErrInsufficientScope = errors.New("patkit: insufficient scope")
	// ErrUnavailable reports that the store could not be reached (HTTP 503).
	ErrUnavailable = errors.New("patkit: store unavailable")
)

// FieldError is one failed validation of a token attribute, in GitLab's
// words: Field is the attribute ("expires_at"), Message the reason
// ("must be before 2027-01-01").
type FieldError struct {
	Field   string
	Message string
}

// FullMessage returns the message as Rails renders it in a sentence, with the
// attribute's human name first: "Expiration date must be before 2027-01-01".
func (f FieldError) FullMessage() string {
	if f.Field == "base" {
		return f.Message
	}
	return fieldLabel(f.Field) + " " + f.Message
}

func fieldLabel(field string) string {
	switch field {
	case "expires_at":
		return "Expiration date"
	case "access_level":
		return "Access level"
	}
	if field == "" {
		return ""
	}
	s := strings.ReplaceAll(field, "_", " ")
	return strings.ToUpper(s[:1]) + s[1:]
}

// Error is the error type returned by the Service. A returned *Error may
// be shared between calls and must not be modified. Code is one of the
// sentinel errors above; Message carries GitLab's text for the case (for
// ErrNotFound the part before "Not Found", for ErrBadRequest and ErrForbidden
// the reason after the dash); Fields lists validation failures for
// ErrInvalid; Scopes lists the scopes that would have passed for
// ErrInsufficientScope.
type Error struct {
	Code    error
	Message string
	Fields  []FieldError
	Scopes  []Scope
}

// Error returns the sentinel's text followed by the message or the
// validation sentence.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Code.Error())
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if len(e.Fields) > 0 {
		b.WriteString(": ")
		b.WriteString(e.Sentence())
	}
	return b.String()
}

// Unwrap returns e.Code.
func (e *Error) Unwrap() error { return e.Code }

// Sentence joins the full messages of e.Fields as Rails' to_sentence does:
// "A", "A and B", "A, B, and C".
func (e *Error) Sentence() string {
	msgs := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		msgs[i] = f.FullMessage()
	}
	switch len(msgs) {
	case 0:
		return ""
	case 1:
		return msgs[0]
	case 2:
		return msgs[0] + " and " + msgs[1]
	}
	return strings.Join(msgs[:len(msgs)-1], ", ") + ", and " + msgs[len(msgs)-1]
}

func newError(code error, msg string) *Error { return &Error{Code: code, Message: msg} }

func invalid(fields ...FieldError) *Error { return &Error{Code: ErrInvalid, Fields: fields} }

package httpapi

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/patkit/patkit"
)

// invalidStyle is how an endpoint renders patkit.ErrInvalid, which GitLab
// renders three ways.
type invalidStyle int

const (
	// invalidSentence is render_api_error!(sentence, 422): admin and self
	// PAT create.
	invalidSentence invalidStyle = iota
	// invalidFields is render_validation_error!: impersonation create.
	invalidFields
	// invalidBadRequest is bad_request!(sentence): rotations and
	// project/group create.
	invalidBadRequest
	// invalidParam is Grape's parameter validation, 400 {"error":"search
	// is too long ..."}: list filters.
	invalidParam
)

// The texts of GitLab's token failures.
const (
	msgExpired       = "Token is expired. You can either do re-authorization or token refresh."
	msgRevoked       = "Token was revoked. You have to re-authorize from the user."
	msgImpersonation = "Token is an impersonation token but impersonation was disabled."
	msgScope         = "The request requires higher privileges than provided by the access token."
	// msgAddress is patkit's own: GitLab has no network-bound tokens.
	msgAddress = "Token is not allowed from this IP address. It is restricted to its allowed_cidrs."
)

// statusClientClosed is the status logged for a request whose client went
// away before the answer (nginx's 499).
const statusClientClosed = 499

// writeJSON writes v as the JSON body with the status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := jsonBuffers.Get().(*bytes.Buffer)
	defer putBuffer(buf)
	// As json.Marshal, without copying the result: Encode ends it with a
	// newline, which GitLab's bodies do not have.
	var b []byte
	if a, ok := v.(jsonAppender); ok {
		b = a.appendJSON(buf.AvailableBuffer())
		buf.Write(b) // keeps the grown buffer for the pool
	} else if err := json.NewEncoder(buf).Encode(v); err == nil {
		b = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	} else { // Not reachable with the types of this package.
		status, b = http.StatusInternalServerError, messageBodies["500 Internal Server Error"]
	}
	writeBody(w, status, b)
}

// writeEntity writes the entity e as the JSON body with the status.
func writeEntity(w http.ResponseWriter, status int, e *entity) {
	buf := jsonBuffers.Get().(*bytes.Buffer)
	b := e.appendJSON(buf.AvailableBuffer())
	buf.Write(b) // keeps the grown buffer for the pool
	writeBody(w, status, b)
	putBuffer(buf)
}

// putBuffer returns buf to jsonBuffers, unless it grew huge.
func putBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= 64<<10 { // a huge page's buffer is not kept
		buf.Reset()
		jsonBuffers.Put(buf)
	}
}

// writeBody writes the JSON body b with the status.
func writeBody(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h["Content-Type"] = jsonContentType // canonical, as Header.Set makes it
	if len(b) > chunkingSize {
		// net/http sets the length of a shorter body itself; a longer
		// one it would send chunked, in more writes.
		h["Content-Length"] = []string{strconv.Itoa(len(b))}
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// chunkingSize is what net/http buffers of a body before it sends the
// body chunked, unless a Content-Length is set (bufferBeforeChunkingSize
// in net/http/server.go).
const chunkingSize = 2048

// jsonContentType is the Content-Type of every JSON answer, shared
// rather than allocated for each: a header's values are only read, and
// its capacity makes an append copy them.
var jsonContentType = []string{"application/json"}[:1:1]

// jsonBuffers holds the buffers writeJSON encodes into.
var jsonBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// writeMessage writes GitLab's {"message": ...} shape.
func writeMessage(w http.ResponseWriter, status int, msg string) {
	if b, ok := messageBodies[msg]; ok {
		writeBody(w, status, b)
		return
	}
	writeJSON(w, status, message{msg})
}

// writeUnauthorized answers 401 {"message":"401 Unauthorized"}.
func writeUnauthorized(w http.ResponseWriter) {
	writeBody(w, http.StatusUnauthorized, unauthorizedBody)
}

var unauthorizedBody = messageBodies["401 Unauthorized"]

// messageBodies holds the bodies of the messages every host answers
// most, encoded once: a refused credential costs no encoding.
var messageBodies = func() map[string][]byte {
	m := make(map[string][]byte)
	for _, msg := range []string{"401 Unauthorized", "403 Forbidden", "404 Not Found", "429 Too Many Requests", "500 Internal Server Error"} {
		b, err := json.Marshal(message{msg})
		if err != nil {
			panic(err)
		}
		m[msg] = b
	}
	return m
}()

// message is GitLab's {"message": ...} body: a struct, which encodes with
// fewer allocations than a map.
type message struct {
	Message string `json:"message"`
}

// statusError is an answer of httpapi's own with its status: GitLab's
// {"message":msg}, or, nested, {"message":{"error":msg}}
// (render_api_error! given a hash), as the token information API's 404.
type statusError struct {
	status int
	msg    string
	nested bool
}

func (e *statusError) Error() string { return e.msg }

// errorWriter renders errors; log receives what is unexpected.
type errorWriter struct {
	log *slog.Logger
	rd  redactor
}

// write answers err in GitLab's shape for it: the one table that maps
// patkit's errors to statuses and bodies.
func (ew errorWriter) write(w http.ResponseWriter, r *http.Request, err error, style invalidStyle) {
	// The most frequent failure, an unknown credential, is answered
	// without walking err's chain for each case below: that chain is e
	// and patkit.ErrUnauthorized, which only the case below matches.
	if e, ok := err.(*patkit.Error); ok && e.Code == patkit.ErrUnauthorized {
		writeUnauthorized(w)
		return
	}
	// errors.AsType, unlike errors.As, allocates nothing.
	if pe, ok := errors.AsType[*paramError](err); ok {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": pe.Error()})
		return
	}
	if te, ok := errors.AsType[*throttledError](err); ok {
		writeThrottled(w, te)
		return
	}
	if ne, ok := errors.AsType[*statusError](err); ok && !ne.nested {
		writeMessage(w, ne.status, ne.msg)
		return
	} else if ok {
		writeJSON(w, ne.status, struct {
			Message struct {
				Error string `json:"error"`
			} `json:"message"`
		}{struct {
			Error string `json:"error"`
		}{ne.msg}})
		return
	}
	e, ok := errors.AsType[*patkit.Error](err)
	if !ok {
		e = &patkit.Error{}
	}
	switch {
	case errors.Is(err, errBodyTooLarge):
		writeMessage(w, http.StatusRequestEntityTooLarge, "413 Request Entity Too Large")
	case errors.Is(err, errBodyTimeout):
		// What is left of the body cannot be told from a next request.
		w.Header().Set("Connection", "close")
		writeMessage(w, http.StatusRequestTimeout, "408 Request Timeout")
	case errors.Is(err, errMalformedJSON):
		writeMessage(w, http.StatusBadRequest, "400 Bad request - Malformed JSON")
	case errors.Is(err, errMalformedString):
		// GitLab's Gitlab::Middleware::HandleMalformedStrings answer.
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte("Bad Request"))
	case errors.Is(err, errMalformedQuery):
		writeMessage(w, http.StatusBadRequest, "400 Bad request - Malformed request parameters")
	case errors.Is(err, patkit.ErrUnauthorized):
		writeUnauthorized(w)
	case errors.Is(err, patkit.ErrTokenExpired):
		invalidToken(w, msgExpired)
	case errors.Is(err, patkit.ErrTokenRevoked):
		invalidToken(w, msgRevoked)
	case errors.Is(err, patkit.ErrImpersonationDisabled):
		invalidToken(w, msgImpersonation)
	case errors.Is(err, patkit.ErrAddressNotAllowed):
		invalidToken(w, msgAddress)
	case errors.Is(err, patkit.ErrInsufficientScope):
		writeInsufficientScope(w, e.Scopes)
	case errors.Is(err, patkit.ErrNotFound):
		writeMessage(w, http.StatusNotFound, "404 "+cmp.Or(e.Message, "Not Found"))
	case errors.Is(err, patkit.ErrForbidden):
		writeMessage(w, http.StatusForbidden, withReason("403 Forbidden", e.Message))
	case errors.Is(err, patkit.ErrBadRequest):
		writeMessage(w, http.StatusBadRequest, withReason("400 Bad request", e.Message))
	case errors.Is(err, patkit.ErrNotAllowed):
		writeMessage(w, http.StatusMethodNotAllowed, "405 Method Not Allowed")
	case errors.Is(err, patkit.ErrInvalid) && len(e.Fields) == 0 && e.Message != "":
		writeMessage(w, http.StatusUnprocessableEntity, e.Message)
	case errors.Is(err, patkit.ErrInvalid) && len(e.Fields) > 0:
		switch style {
		case invalidSentence:
			writeMessage(w, http.StatusUnprocessableEntity, e.Sentence())
		case invalidParam:
			msgs := make([]string, len(e.Fields))
			for i, f := range e.Fields {
				msgs[i] = f.Field + " " + f.Message
			}
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": strings.Join(msgs, ", ")})
		case invalidFields:
			writeJSON(w, http.StatusBadRequest, struct {
				Message fieldErrors `json:"message"`
			}{e.Fields})
		default:
			writeMessage(w, http.StatusBadRequest, "400 Bad request - "+e.Sentence())
		}
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away: nobody reads the answer, and it is no
		// fault of the server's.
		ew.log.DebugContext(r.Context(), "patkit: client went away",
			"method", r.Method, "path", ew.rd.url(r))
		writeMessage(w, statusClientClosed, "499 Client Closed Request")
	case errors.Is(err, patkit.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		ew.log.ErrorContext(r.Context(), "patkit: store unavailable",
			"method", r.Method, "path", ew.rd.url(r), "error", err.Error())
		writeMessage(w, http.StatusServiceUnavailable, "503 Service Unavailable")
	default:
		ew.log.ErrorContext(r.Context(), "patkit: request failed",
			"method", r.Method, "path", ew.rd.url(r), "error", err.Error())
		writeMessage(w, http.StatusInternalServerError, "500 Internal Server Error")
	}
}

func withReason(head, reason string) string {
	if reason == "" {
		return head
	}
	return head + " - " + reason
}

// invalidToken answers 401 invalid_token with its WWW-Authenticate header.
func invalidToken(w http.ResponseWriter, desc string) {
	w.Header().Set("WWW-Authenticate",
		`Bearer realm="The API", error="invalid_token", error_description="`+desc+`"`)
	writeJSON(w, http.StatusUnauthorized, struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}{"invalid_token", desc})
}

// writeInsufficientScope answers 403 insufficient_scope, without
// WWW-Authenticate as GitLab does.
func writeInsufficientScope(w http.ResponseWriter, scopes []patkit.Scope) {
	s := make([]string, len(scopes))
	for i, sc := range scopes {
		s[i] = string(sc)
	}
	writeJSON(w, http.StatusForbidden, struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
		Scope            string `json:"scope"`
	}{"insufficient_scope", msgScope, strings.Join(s, " ")})
}

// fieldErrors marshals as an ActiveModel errors hash, attributes in the
// order they failed: {"name":["can't be blank"],"scopes":[...]}.
type fieldErrors []patkit.FieldError

func (fe fieldErrors) MarshalJSON() ([]byte, error) {
	var order []string
	msgs := map[string][]string{}
	for _, f := range fe {
		if _, seen := msgs[f.Field]; !seen {
			order = append(order, f.Field)
		}
		msgs[f.Field] = append(msgs[f.Field], f.Message)
	}
	var b []byte
	b = append(b, '{')
	for i, k := range order {
		if i > 0 {
			b = append(b, ',')
		}
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(msgs[k])
		b = append(append(append(b, kb...), ':'), vb...)
	}
	return append(b, '}'), nil
}

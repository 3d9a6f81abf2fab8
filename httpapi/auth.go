package httpapi

import (
	"cmp"
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/patkit/patkit"
)

// rotatePath reports whether path is one on which a revoked token revokes its
// family: a token that rotation replaced is being reused.
func rotatePath(path string) bool {
	rest, ok := strings.CutSuffix(path, "/rotate")
	if !ok {
		return false
	}
	i := strings.LastIndexByte(rest, '/')
	id := rest[i+1:]
	if !strings.HasSuffix(rest[:max(i, 0)], "access_tokens") || id == "" {
		return false
	}
	return id == "self" || strings.Trim(id, "0123456789") == ""
}

// credential returns the secret a request presents, in GitLab's order:
// the private_token parameter, the PRIVATE-TOKEN header, the access_token
// parameter, an Authorization: Bearer header, the bearer_token parameter.
// Empty values are skipped. rack holds the query (and form) parameters.
func credential(r *http.Request, rack func(string) string) string {
	if s := rack("private_token"); s != "" {
		return s
	}
	if s := headerValue(r.Header, "Private-Token"); s != "" {
		return s
	}
	if s := rack("access_token"); s != "" {
		return s
	}
	if scheme, tok, ok := strings.Cut(headerValue(r.Header, "Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		if tok = strings.TrimSpace(tok); tok != "" {
			return tok
		}
	}
	return rack("bearer_token")
}

// headerValue returns the value of the header canonicalKey as GitLab's
// Rack server presents it: the values of a repeated header joined with
// ", ", so that of two credentials or two Sudo users neither is chosen.
// The key is not canonicalized again: every caller writes it in canonical
// form (TestHeaderKeysCanonical).
func headerValue(h http.Header, canonicalKey string) string {
	switch v := h[canonicalKey]; len(v) {
	case 0:
		return ""
	case 1:
		return v[0]
	default:
		return strings.Join(v, ", ")
	}
}

// remoteIP returns the host part of r.RemoteAddr.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// authResult is an authenticated request: the principal, whether it came
// from Sudo (then only the sudo scope was checked), and what it was made
// from, so that the API handler can reuse a result of its own middleware
// instead of authenticating the same request twice.
type authResult struct {
	p      *patkit.Principal
	base   *patkit.Principal // the token's own principal, before Sudo
	sudo   bool
	by     *authenticator
	secret string
	sudoAs string
}

// authenticator is the authentication shared by the API handler and the
// middleware.
type authenticator struct {
	svc      *patkit.Service
	clientIP func(*http.Request) string
	throttle *throttle // nil: no throttling
}

// authenticate resolves the request's credential and the Sudo it asks
// for. It returns (nil, nil) for a request without credential. sudo is the
// Sudo parameter or header, "" for none.
//
// allowed, when not nil, are the scopes the endpoint allows; the Service
// checks them in GitLab's order (after expiry and revocation, before the
// user's state). Under Sudo only the sudo scope is checked.
//
// A request that this authenticator's middleware already authenticated
// with the same credential and Sudo is not authenticated again: only the
// scopes are checked, and the middleware's result is returned. Nor is it
// for the credential alone (sudo "" and allowed nil) whatever Sudo the
// middleware applied. Any other result is written to into (a new one when
// nil) and returned.
func (a *authenticator) authenticate(r *http.Request, secret, sudo string, allowed []patkit.Scope, into *authResult) (*authResult, error) {
	if secret == "" {
		return nil, nil
	}
	if prev, ok := r.Context().Value(ctxKey{}).(*authResult); ok && prev.by == a && prev.secret == secret {
		switch {
		case prev.sudoAs == sudo:
			if !prev.sudo && allowed != nil {
				if err := patkit.CheckScopes(prev.p.Token().Scopes, allowed); err != nil {
					return nil, err
				}
			}
			return prev, nil
		case sudo == "" && allowed == nil:
			// The token alone, which the API asks for when the body may
			// name another Sudo.
			return fill(into, authResult{p: prev.base, base: prev.base, by: a, secret: secret}), nil
		}
	}
	if sudo != "" {
		allowed = nil
	}
	ip := a.clientIP(r)
	if err := a.throttled(ip); err != nil {
		return nil, err
	}
	p, err := a.svc.Authenticate(r.Context(), secret, patkit.AuthRequest{
		RemoteIP: ip,
		Rotate:   rotatePath(r.URL.Path),
		Scopes:   allowed,
	})
	if err != nil {
		if a.throttle != nil && failedCredential(err) {
			a.throttle.fail(ip, a.svc.Now())
		}
		return nil, err
	}
	ar := fill(into, authResult{p: p, base: p, by: a, secret: secret, sudoAs: sudo})
	if sudo != "" {
		if ar.p, err = a.svc.Sudo(r.Context(), p, sudo); err != nil {
			return nil, err
		}
		ar.sudo = true
	}
	return ar, nil
}

// throttled returns a *throttledError if the client address ip may not
// present a credential now (see FailedAuthLimit).
func (a *authenticator) throttled(ip string) error {
	if a.throttle == nil {
		return nil
	}
	return a.throttle.check(ip, a.svc.Now())
}

// failedCredential reports whether err refuses the credential itself, as
// opposed to its use (scopes, Sudo, a blocked user) or a fault.
func failedCredential(err error) bool {
	return errors.Is(err, patkit.ErrUnauthorized) || errors.Is(err, patkit.ErrTokenExpired) ||
		errors.Is(err, patkit.ErrTokenRevoked) || errors.Is(err, patkit.ErrImpersonationDisabled) ||
		errors.Is(err, patkit.ErrAddressNotAllowed)
}

// resudo returns ar's credential acting under sudo ("" for none) instead
// of the Sudo ar was made with, as when a request body names another Sudo
// than its query string and headers. Without Sudo the endpoint's scopes,
// allowed, are checked; under Sudo only the sudo scope is. The result is
// written to into, which may be ar.
func (a *authenticator) resudo(r *http.Request, ar *authResult, sudo string, allowed []patkit.Scope, into *authResult) (*authResult, error) {
	out := fill(into, authResult{p: ar.base, base: ar.base, by: a, secret: ar.secret, sudoAs: sudo})
	if sudo == "" {
		if allowed != nil {
			if err := patkit.CheckScopes(ar.base.Token().Scopes, allowed); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	p, err := a.svc.Sudo(r.Context(), ar.base, sudo)
	if err != nil {
		return nil, err
	}
	out.p, out.sudo = p, true
	return out, nil
}

// fill sets *into, or a new authResult when into is nil, to ar.
func fill(into *authResult, ar authResult) *authResult {
	if into == nil {
		into = new(authResult)
	}
	*into = ar
	return into
}

// checkScopes applies GitLab's scope rule for an endpoint declaring
// endpoint scopes, unless Sudo was used (svc.Sudo checked the sudo scope).
func (ar *authResult) checkScopes(method string, endpoint []patkit.Scope) error {
	if ar.sudo || ar.p.Token() == nil {
		return nil
	}
	return patkit.CheckScopes(ar.p.Token().Scopes, patkit.AllowedScopes(readOnly(method), endpoint...))
}

func readOnly(method string) bool { return method == http.MethodGet || method == http.MethodHead }

type ctxKey struct{}

// WithPrincipal returns a copy of ctx carrying p, for hosts that
// authenticate some requests themselves (a session, say) and want
// RequireScopes and PrincipalFrom to see them. Get p from
// patkit.Service.Principal, which applies the blocked state and admin
// mode. Such a principal has no token, so RequireScopes lets it through
// whatever the scopes; the API endpoints, which take only tokens, ignore
// it.
func WithPrincipal(ctx context.Context, p *patkit.Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, &authResult{p: p})
}

// PrincipalFrom returns the principal the middleware (or WithPrincipal)
// put in ctx, and whether there is one.
func PrincipalFrom(ctx context.Context) (*patkit.Principal, bool) {
	ar, ok := ctx.Value(ctxKey{}).(*authResult)
	if !ok || ar.p.User() == nil {
		return nil, false
	}
	return ar.p, true
}

// fromRequest authenticates r with what the middleware reads: the
// private_token, access_token and bearer_token query parameters, the
// PRIVATE-TOKEN header and Authorization: Bearer, and the Sudo header or
// sudo query parameter. It never reads the body, which stays the host's.
// It returns r itself when r carries no credential or was authenticated
// already, else r with the result in its context.
func (h *Handler) fromRequest(r *http.Request) (*http.Request, *authResult, error) {
	if ar, ok := r.Context().Value(ctxKey{}).(*authResult); ok {
		return r, ar, nil
	}
	q := r.URL.Query()
	param := func(name string) string { return lastValue(q, name) }
	sudo := cmp.Or(param("sudo"), headerValue(r.Header, "Sudo"))
	ar, err := h.auth.authenticate(r, credential(r, param), sudo, nil, nil)
	if err != nil || ar == nil {
		return r, nil, err
	}
	return r.WithContext(context.WithValue(r.Context(), ctxKey{}, ar)), ar, nil
}

// Authenticate is middleware for a host's own routes that authenticates
// requests with the same credentials, rules and Options as the API (see
// fromRequest's list: query parameters and headers, never the body).
//
// A request without credential passes through anonymously. A credential
// that fails is answered as the API answers it (401 with GitLab's body,
// invalid_token with WWW-Authenticate, 403 for a blocked user or a refused
// Sudo) and next is not called. On success the principal is in the request
// context (PrincipalFrom). Use it for routes that serve anonymous and
// signed-in users alike; RequireScopes authenticates by itself.
//
// Wrapping the API handler too is harmless: it reuses the result rather
// than authenticating twice. As in the API, a revoked token presented on a
// path ending in access_tokens/<id>/rotate or access_tokens/self/rotate
// revokes its descendants.
func (h *Handler) Authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, _, err := h.fromRequest(r)
		if err != nil {
			h.ew.write(w, r, err, invalidBadRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// RequireScopes returns middleware that admits only authenticated
// requests whose token passes GitLab's scope rule for an endpoint
// declaring scopes: the token holds one of scopes, or api, or read_api
// when the method is GET or HEAD. With no scopes, api and read_api are the
// only ones that pass, as on most GitLab endpoints. It authenticates the
// request as Authenticate does, unless that already happened. A request
// authenticated with Sudo passes (the sudo scope was checked), as does a
// principal without token set with WithPrincipal.
//
// Anonymous requests get 401 {"message":"401 Unauthorized"}; a token
// without an allowed scope gets 403 insufficient_scope listing, as GitLab
// does, every scope registered for the route: scopes, then api and
// read_api (whatever the method).
func (h *Handler) RequireScopes(scopes ...patkit.Scope) func(http.Handler) http.Handler {
	scopes = slices.Clone(scopes)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r, ar, err := h.fromRequest(r)
			switch {
			case err != nil:
				h.ew.write(w, r, err, invalidBadRequest)
			case ar == nil || ar.p.User() == nil:
				writeUnauthorized(w)
			case ar.checkScopes(r.Method, scopes) != nil:
				writeInsufficientScope(w, registered(scopes, nil))
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}

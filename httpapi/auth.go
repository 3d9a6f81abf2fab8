package httpapi

import (
	"context"
	"net"
	"net/http"
	"regexp"
	"strings"

	"github.com/patkit/patkit"
)

// rotatePath matches the paths on which a revoked token revokes its
// family (SPEC §6.4).
var rotatePath = regexp.MustCompile(`access_tokens/(\d+|self)/rotate$`)

// credential returns the secret a request presents, in GitLab's order:
// the private_token parameter, the PRIVATE-TOKEN header, the access_token
// parameter, an Authorization: Bearer header, the bearer_token parameter.
// Empty values are skipped. rack holds the query (and form) parameters.
func credential(r *http.Request, rack func(string) string) string {
	if s := rack("private_token"); s != "" {
		return s
	}
	if s := r.Header.Get("Private-Token"); s != "" {
		return s
	}
	if s := rack("access_token"); s != "" {
		return s
	}
	if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		if tok = strings.TrimSpace(tok); tok != "" {
			return tok
		}
	}
	return rack("bearer_token")
}

// remoteIP returns the host part of r.RemoteAddr.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// authResult is an authenticated request: the principal and whether it
// came from Sudo, in which case only the sudo scope was checked.
type authResult struct {
	p    *patkit.Principal
	sudo bool
}

// authenticator is the authentication shared by the API handler and the
// middleware.
type authenticator struct {
	svc      *patkit.Service
	clientIP func(*http.Request) string
}

// authenticate resolves the request's credential and the Sudo it asks
// for. It returns (nil, nil) for a request without credential. sudo is the
// Sudo parameter or header, "" for none.
//
// allowed, when not nil, are the scopes the endpoint allows; the Service
// checks them in GitLab's order (after expiry and revocation, before the
// user's state). Under Sudo only the sudo scope is checked.
func (a *authenticator) authenticate(r *http.Request, secret, sudo string, allowed []patkit.Scope) (*authResult, error) {
	if secret == "" {
		return nil, nil
	}
	if sudo != "" {
		allowed = nil
	}
	p, err := a.svc.Authenticate(r.Context(), secret, patkit.AuthRequest{
		RemoteIP: a.clientIP(r),
		Rotate:   rotatePath.MatchString(r.URL.Path),
		Scopes:   allowed,
	})
	if err != nil {
		return nil, err
	}
	if sudo == "" {
		return &authResult{p: p}, nil
	}
	sp, err := a.svc.Sudo(r.Context(), p, sudo)
	if err != nil {
		return nil, err
	}
	return &authResult{p: sp, sudo: true}, nil
}

// checkScopes applies GitLab's scope rule for an endpoint declaring
// endpoint scopes, unless Sudo was used (svc.Sudo checked the sudo scope).
func (ar *authResult) checkScopes(method string, endpoint []patkit.Scope) error {
	if ar.sudo || ar.p.Token == nil {
		return nil
	}
	return patkit.CheckScopes(ar.p.Token.Scopes, patkit.AllowedScopes(readOnly(method), endpoint...))
}

func readOnly(method string) bool { return method == http.MethodGet || method == http.MethodHead }

type ctxKey struct{}

// WithPrincipal returns a copy of ctx carrying p, for hosts that
// authenticate some requests themselves (a session, say) and want
// RequireScopes and PrincipalFrom to see them. Such a principal has no
// Token, so RequireScopes lets it through whatever the scopes.
func WithPrincipal(ctx context.Context, p *patkit.Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, &authResult{p: p})
}

// PrincipalFrom returns the principal Authenticate (or WithPrincipal) put
// in ctx, and whether there is one.
func PrincipalFrom(ctx context.Context) (*patkit.Principal, bool) {
	ar, ok := ctx.Value(ctxKey{}).(*authResult)
	if !ok || ar.p == nil {
		return nil, false
	}
	return ar.p, true
}

// Authenticate returns middleware for a host's own routes that
// authenticates requests with the same credentials and rules as the API:
// the private_token, access_token and bearer_token query parameters, the
// PRIVATE-TOKEN header and Authorization: Bearer, and the Sudo header or
// sudo query parameter. It never reads the request body, which stays the
// host's.
//
// A request without credential passes through anonymously: wrap the
// handlers that need a user in RequireScopes. A credential that fails is
// answered as the API answers it (401 with GitLab's body, invalid_token
// with WWW-Authenticate, 403 for a blocked user or a refused Sudo) and the
// next handler is not called. On success the principal is in the request
// context (PrincipalFrom).
//
// The rotation-family rule of SPEC §6.4 applies to host paths too: a
// revoked token presented on a path ending in access_tokens/<id>/rotate
// or access_tokens/self/rotate revokes its descendants.
func Authenticate(svc *patkit.Service, opts *Options) func(http.Handler) http.Handler {
	o := opts.withDefaults()
	a := &authenticator{svc: svc, clientIP: o.ClientIP}
	ew := errorWriter{log: o.Logger}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			first := func(name string) string {
				for _, v := range q[name] {
					if v != "" {
						return v
					}
				}
				return ""
			}
			sudo := first("sudo")
			if sudo == "" {
				sudo = r.Header.Get("Sudo")
			}
			ar, err := a.authenticate(r, credential(r, first), sudo, nil)
			if err != nil {
				ew.write(w, r, err, invalidBadRequest)
				return
			}
			if ar != nil {
				r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, ar))
			}
			next.ServeHTTP(w, r)
		})
	}
}

// RequireScopes returns middleware that admits only authenticated
// requests (see Authenticate, which must run first) whose token passes
// GitLab's scope rule for an endpoint declaring scopes: the token holds one
// of scopes, or api, or read_api when the method is GET or HEAD. With no
// scopes, api and read_api are the only ones that pass, as on most GitLab
// endpoints. A request authenticated with Sudo passes (the sudo scope was
// checked), as does a principal without token set with WithPrincipal.
//
// Anonymous requests get 401 {"message":"401 Unauthorized"}; a token
// without an allowed scope gets 403 insufficient_scope listing, as GitLab
// does, every scope registered for the route: scopes, then api and
// read_api (whatever the method).
func RequireScopes(scopes ...patkit.Scope) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ar, _ := r.Context().Value(ctxKey{}).(*authResult)
			if ar == nil || ar.p == nil {
				writeMessage(w, http.StatusUnauthorized, "401 Unauthorized")
				return
			}
			if err := ar.checkScopes(r.Method, scopes); err != nil {
				writeInsufficientScope(w, registered(scopes, nil))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

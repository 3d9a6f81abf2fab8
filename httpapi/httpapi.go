package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/patkit/patkit"
)

// Options configure the handler and the middleware. A nil *Options means
// the defaults.
type Options struct {
	// ExternalURL is the scheme, host and port (and any path prefix the
	// handler is mounted under) that pagination Link headers use, like
	// GitLab's configured external URL: "https://tokens.example.com". Set
	// it: clients follow Link URLs with their credentials, and
	// python-gitlab follows them only when they are absolute.
	//
	// Without it the Host header is not trusted: Link URLs are absolute
	// only when the Host header names the address the connection was
	// accepted on (an IP address and port, or localhost on a loopback
	// listener, as a client connecting directly sends), and otherwise
	// relative ("/api/v4/personal_access_tokens?page=2&per_page=20"),
	// which clients resolving them against the request URL, and
	// client-go's pagination, which reads only their query, follow.
	ExternalURL string

	// Logger receives one Info record per API request (method, path and
	// query with anything that may be a secret redacted and cut at 2 KiB,
	// status, duration) and an Error record for every answer 500 or 503,
	// including recovered panics; a request whose client went away is
	// logged at Debug. Headers and bodies are never logged. Default:
	// slog.Default(). To silence it, pass slog.New(slog.DiscardHandler).
	Logger *slog.Logger

	// MaxBodyBytes bounds request bodies; a longer body is answered 413
	// {"message":"413 Request Entity Too Large"}. Default 1 MiB.
	MaxBodyBytes int64

	// BodyReadTimeout bounds how long reading a request body may take,
	// from the moment the handler starts reading it, through
	// http.ResponseController read deadlines; a body still incomplete then
	// is answered 408 {"message":"408 Request Timeout"} and its connection
	// closed. It does not extend a shorter http.Server.ReadTimeout.
	// Default DefaultBodyReadTimeout (10 s); negative means no bound of
	// the handler's own.
	BodyReadTimeout time.Duration

	// ClientIP returns the client address, which a token's last_used_ips
	// record, FailedAuthLimit counts by, and a network-bound token's
	// allowed_cidrs are checked against (an address it cannot tell, ""
	// or anything that is not an IP address, authenticates no bound
	// token). Default: the host part of r.RemoteAddr. Behind proxies that
	// append to X-Forwarded-For, use ForwardedFor with their networks.
	//
	// Behind a reverse proxy, read the address it forwards here, and only
	// from a header that proxy sets itself: a header a client can write
	// (X-Forwarded-For as the client sent it, or any header when the
	// server is also reachable without the proxy) lets every request
	// claim a new address and so escape FailedAuthLimit, and fill
	// last_used_ips with anything. For example, behind one proxy that
	// overwrites X-Real-IP and is the only way in:
	//
	//	ClientIP: func(r *http.Request) string { return r.Header.Get("X-Real-IP") },
	ClientIP func(r *http.Request) string

	// FailedAuthLimit, when not nil, throttles failed authentication by
	// client address, for the API and the middleware alike. Default: off.
	FailedAuthLimit *FailedAuthLimit
}

// Defaults of Options.
const (
	DefaultMaxBodyBytes    = 1 << 20
	DefaultBodyReadTimeout = 10 * time.Second
)

func (o *Options) withDefaults() Options {
	var c Options
	if o != nil {
		c = *o
	}
	c.ExternalURL = strings.TrimRight(c.ExternalURL, "/")
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.BodyReadTimeout == 0 {
		c.BodyReadTimeout = DefaultBodyReadTimeout
	}
	if c.ClientIP == nil {
		c.ClientIP = remoteIP
	}
	return c
}

// api is the state of a Handler.
type api struct {
	svc  *patkit.Service
	opts Options
	auth *authenticator
	ew   errorWriter
	rd   redactor
	mux  *http.ServeMux
	// literal holds the routes without wildcards by path, for route.
	literal map[string][]literalRoute
	oas     openAPIDoc
}

// literalRoute is a route without wildcards: its ServeMux pattern and
// handler.
type literalRoute struct {
	method, pattern string
	h               http.Handler
}

// Handler serves GitLab's token endpoints under /api/v4 (see the package
// documentation), and makes the middleware that protects a host's own
// routes with the same tokens and the same Options (Authenticate,
// RequireScopes). It is safe for concurrent use.
type Handler struct {
	api
	serve http.Handler
}

// New returns the Handler of svc. Mount it at the root of a mux, or at
// "/api/v4/": it matches full paths. It answers a path that is not clean
// ("//api/v4/version", "/api/v4/./user") 404, as GitLab does; a
// ServeMux in front of it redirects such a path to the clean one before
// the Handler sees it (examples/server hands the Handler every path
// under /api/ first).
func New(svc *patkit.Service, opts *Options) *Handler {
	h := &Handler{api: api{svc: svc, opts: opts.withDefaults(), mux: http.NewServeMux()}}
	a := &h.api
	a.auth = &authenticator{svc: svc, clientIP: a.opts.ClientIP, throttle: newThrottle(a.opts.FailedAuthLimit)}
	a.rd = newRedactor(svc.Prefix())
	a.ew = errorWriter{log: a.opts.Logger, rd: a.rd}
	a.oas = newOpenAPIDoc(a.opts.ExternalURL)
	a.literal = make(map[string][]literalRoute)
	for _, rt := range a.routes() {
		pattern, h := rt.method+" /api/v4"+rt.path, a.endpoint(rt)
		a.mux.Handle(pattern, h)
		if !strings.Contains(rt.path, "{") {
			path := "/api/v4" + rt.path
			a.literal[path] = append(a.literal[path], literalRoute{rt.method, pattern, h})
		}
	}
	// GitLab's catch-all route answers unknown paths, and known paths with
	// another method, 404; route answers paths that are not clean so too.
	a.mux.HandleFunc("/", notFound)
	h.serve = logRequests(a.opts.Logger, a.rd, recoverPanics(a.opts.Logger, a.rd, http.HandlerFunc(a.route)))
	return h
}

// route serves r with the handler a.mux would choose. A request for the
// path of a route without wildcards, written as registered (clean, not
// escaped), is one that route matches whatever the host: that is found in
// a map, as ServeMux finds it, but without cleaning, escaping and
// unescaping the path segment by segment, which cost a quarter of the
// instructions httpapi spent on an unknown token. Anything else goes to
// the mux.
func (a *api) route(w http.ResponseWriter, r *http.Request) {
	if lr := a.literalRoute(r); lr != nil {
		r.Pattern = lr.pattern // as the mux sets it
		lr.h.ServeHTTP(w, r)
		return
	}
	if !clean(r.URL.Path) && r.Method != http.MethodConnect {
		// The mux would redirect to the clean path, with an HTML body.
		// Such a path names no route of GitLab's, which answers it 404
		// (as a client whose base URL ends in a slash finds).
		notFound(w, r)
		return
	}
	a.mux.ServeHTTP(w, r)
}

// notFound is GitLab's answer to a path that names no route.
func notFound(w http.ResponseWriter, _ *http.Request) {
	writeMessage(w, http.StatusNotFound, "404 Not Found")
}

// clean reports whether ServeMux would take the path p as it is: an
// absolute path without empty, "." or ".." segments, a trailing slash
// allowed. The "*" of OPTIONS * is left to the mux (400).
func clean(p string) bool {
	if p == "*" {
		return true
	}
	if p == "" || p[0] != '/' {
		return false
	}
	c := path.Clean(p)
	return c == p || c != "/" && c+"/" == p
}

// literalRoute returns the route without wildcards that a.mux matches r
// with, or nil when r may be for another route or none.
func (a *api) literalRoute(r *http.Request) *literalRoute {
	if r.URL.RawPath != "" {
		return nil
	}
	routes := a.literal[r.URL.Path]
	method := r.Method
	for {
		for i := range routes {
			if routes[i].method == method {
				return &routes[i]
			}
		}
		// A GET pattern matches HEAD requests too, after HEAD ones.
		if method != http.MethodHead {
			return nil
		}
		method = http.MethodGet
	}
}

// ServeHTTP serves the API.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.serve.ServeHTTP(w, r) }

// route is one endpoint.
type route struct {
	method string
	path   string // after /api/v4, with {wildcards}
	// scopes are the endpoint's own scopes; api, and read_api for GET, are
	// added by patkit.AllowedScopes. readScopes pass only GET and HEAD
	// (read_user on /users).
	scopes     []patkit.Scope
	readScopes []patkit.Scope
	invalid    invalidStyle
	// anonymous routes run without a credential, with a nil principal;
	// the others answer 401 first.
	anonymous bool
	// public routes read no credential and no parameter: they serve the
	// same answer to everyone.
	public bool
	handle func(*call) error
}

// call is one request being served.
type call struct {
	*api
	w  http.ResponseWriter
	r  *http.Request
	in *input
	p  *patkit.Principal
	c  checker
}

var wildcard = regexp.MustCompile(`\{(\w+)\}`)

// endpoint returns the handler of rt: authenticate (reading the body only
// once the request is authenticated), check scopes, then run the endpoint
// on the parameters.
func (a *api) endpoint(rt route) http.Handler {
	var names []string
	for _, m := range wildcard.FindAllStringSubmatch(rt.path, -1) {
		names = append(names, m[1])
	}
	if rt.public {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := rt.handle(&call{api: a, w: w, r: r}); err != nil {
				a.ew.write(w, r, err, rt.invalid)
			}
		})
	}
	readAllowed, writeAllowed := rt.allowed(http.MethodGet), rt.allowed(http.MethodPost)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		allowed := writeAllowed
		if readOnly(r.Method) {
			allowed = readAllowed
		}
		x, ok := w.(*exchange)
		if !ok { // not reached: recoverPanics makes one
			x = newExchange(w)
		}
		in, ar, sudo, err := a.admit(x, r, allowed)
		if err == nil && ar == nil && !rt.anonymous {
			err = &patkit.Error{Code: patkit.ErrUnauthorized}
		}
		if sudo == "" && errors.Is(err, patkit.ErrInsufficientScope) {
			err = &patkit.Error{Code: patkit.ErrInsufficientScope, Scopes: registered(rt.scopes, rt.readScopes)}
		}
		if err != nil {
			a.ew.write(w, r, err, rt.invalid)
			return
		}
		for _, n := range names {
			v := r.PathValue(n)
			in.set(n, value{strs: []string{v}})
			in.link(n, v)
		}
		var p *patkit.Principal
		if ar != nil {
			p = ar.p
		}
		c := &x.call
		*c = call{api: a, w: w, r: r, in: in, p: p, c: checker{in: in}}
		if err := rt.handle(c); err != nil {
			a.ew.write(w, r, err, rt.invalid)
		}
	})
}

// admit parses r's parameters and authenticates it for an endpoint
// allowing scopes allowed. It returns (in, nil, "", nil) for a request
// without credential, and the Sudo it applied.
//
// The body is read only once the credential in the headers or query
// string authenticates, so that nobody without a token can make the server
// hold a body, or when neither holds a credential and the body is a form,
// which may (GitLab reads private_token and its kin from form bodies too).
// A Sudo in the body still applies: when the body may hold parameters the
// token is authenticated alone first, and the final Sudo applied once the
// body is read.
//
// The parameters are x.in, and the result x.ar unless it is the
// middleware's.
func (a *api) admit(x *exchange, r *http.Request, allowed []patkit.Scope) (in *input, ar *authResult, sudo string, err error) {
	w, in, into := http.ResponseWriter(x), &x.in, &x.ar
	if err = parseQuery(r, in); err != nil {
		return nil, nil, "", err
	}
	kind := kindOfBody(r)
	secret := credential(r, in.rackValue)
	if secret == "" {
		if kind != bodyForm {
			return in, nil, "", nil
		}
		if err = a.auth.throttled(a.opts.ClientIP(r)); err != nil {
			return nil, nil, "", err
		}
		if err = a.readBody(w, r, in, min(a.opts.MaxBodyBytes, maxAnonymousBody)); err != nil {
			return nil, nil, "", err
		}
		sudo = in.sudo(r)
		ar, err = a.auth.authenticate(r, credential(r, in.rackValue), sudo, allowed, into)
		return in, ar, sudo, err
	}
	sudo = in.sudo(r)
	if kind != bodyJSON && kind != bodyForm {
		ar, err = a.auth.authenticate(r, secret, sudo, allowed, into)
		if err == nil {
			err = a.readBody(w, r, in, a.opts.MaxBodyBytes) // drained, for 413
		}
		return in, ar, sudo, err
	}
	// The body may name another Sudo, so authenticate the token alone
	// first. Without Sudo so far the endpoint's scopes are checked where
	// the Service checks them, but a token failing only those is genuine:
	// its body is read, for a Sudo under which they do not matter.
	var scopeErr error
	if sudo == "" {
		ar, err = a.auth.authenticate(r, secret, "", allowed, into)
		if errors.Is(err, patkit.ErrInsufficientScope) {
			scopeErr, err = err, nil
		}
	} else {
		ar, err = a.auth.authenticate(r, secret, "", nil, into)
	}
	if err != nil {
		return in, nil, sudo, err
	}
	if err = a.readBody(w, r, in, a.opts.MaxBodyBytes); err != nil {
		return nil, nil, sudo, err
	}
	final := in.sudo(r)
	switch {
	case scopeErr != nil && final == "":
		return in, nil, "", scopeErr
	case scopeErr != nil:
		// Authenticate stopped at the scopes, before recording the use.
		ar, err = a.auth.authenticate(r, secret, final, allowed, into)
	case final != "" || sudo != "":
		ar, err = a.auth.resudo(r, ar, final, allowed, into)
	}
	if err != nil {
		return in, nil, final, err
	}
	return in, ar, final, nil
}

// maxAnonymousBody bounds a form body read only to look for a credential
// in it: a form whose credential is in its body is a small request, and a
// client that has not authenticated should not make the server hold much.
const maxAnonymousBody = 64 << 10

// readBody reads r's body into in, at most limit bytes within
// Options.BodyReadTimeout.
func (a *api) readBody(w http.ResponseWriter, r *http.Request, in *input, limit int64) error {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	rc := http.NewResponseController(w)
	bounded := false
	if d := a.opts.BodyReadTimeout; d > 0 {
		// A shorter ReadTimeout of the server, which runs from the start
		// of the request, ends sooner: keep it.
		srv, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
		if srv == nil || srv.ReadTimeout <= 0 || srv.ReadTimeout > d {
			bounded = rc.SetReadDeadline(time.Now().Add(d)) == nil
		}
	}
	err := in.readBody(w, r, limit)
	if err == nil && bounded {
		// The body is read whole. The server has cleared the deadline
		// already, unless the body was read before (then it waits for the
		// next request with the deadline set, and would end this one when
		// it passes). After a failure the deadline stays: the server may
		// still drain what is left of the body.
		_ = rc.SetReadDeadline(time.Time{})
	}
	return err
}

// allowed returns the scopes that pass rt for a request with method.
func (rt route) allowed(method string) []patkit.Scope {
	if readOnly(method) {
		return patkit.AllowedScopes(true, append(slices.Clone(rt.scopes), rt.readScopes...)...)
	}
	return patkit.AllowedScopes(false, rt.scopes...)
}

// registered returns the scopes GitLab names in an insufficient_scope
// answer: every scope registered for the endpoint, whatever the method —
// its own, those that pass only reads, then api and read_api (GitLab answers
// "api self_rotate api read_api" on a POST).
func registered(scopes, readScopes []patkit.Scope) []patkit.Scope {
	return slices.Concat(scopes, readScopes, []patkit.Scope{patkit.ScopeAPI, patkit.ScopeReadAPI})
}

func (c *call) json(status int, v any) error {
	writeJSON(c.w, status, v)
	return nil
}

func (c *call) noContent() error {
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (c *call) entity(status int, t *patkit.Token, kind entityKind, secret string) error {
	var v entityValues // on the stack, as e: writeEntity keeps neither
	e := render(t, kind, secret, c.svc.Now(), &v)
	writeEntity(c.w, status, &e)
	return nil
}

package webui

import (
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/patkit/patkit"
)

// Options configure the Handler. A nil *Options is not enough: Principal
// is required.
type Options struct {
	// Principal returns who is signed in, from the host's own session
	// (build it with Service.Principal), or (nil, nil) when nobody is. An
	// error wrapping patkit.ErrUnauthorized counts as nobody; one wrapping
	// patkit.ErrForbidden (a blocked user) gets a 403 page; any other is a
	// failure (500, logged).
	Principal func(*http.Request) (*patkit.Principal, error)
	// SignInURL is where a visitor who is not signed in is sent (303 See
	// Other, with the page in a return_to parameter). Empty: a 401 page.
	SignInURL string
	// SignOutURL, when set, adds a sign-out button that posts to it.
	SignOutURL string
	// Logger records failures (never a form value, never a secret).
	// Default slog.Default().
	Logger *slog.Logger
}

// The paths the Handler serves, GitLab's. <project> is a project's full
// path ("acme/widgets"), <group> a group's; <id> a token ID.
const (
	// PersonalPath lists, and creates (POST), the signed-in user's
	// personal access tokens; <PersonalPath>/<id>/rotate and /revoke
	// confirm (GET) and do (POST).
	PersonalPath = "/-/user_settings/personal_access_tokens"
	// ProjectSuffix follows a project's path: /<project>/-/settings/access_tokens.
	ProjectSuffix = "/-/settings/access_tokens"
	// GroupPrefix precedes a group's path: /groups/<group>/-/settings/access_tokens.
	GroupPrefix = "/groups/"
	// AdminPath is the administrators' inventory of every token
	// (GitLab's credentials inventory); <AdminPath>/<id>/revoke confirms
	// and revokes.
	AdminPath = "/admin/credentials"
	// StaticPath serves the style sheet and the copy button's script.
	StaticPath = "/-/patkit/static/"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// csp allows nothing but this origin's own files: no inline script or
// style, no frames, forms only to this origin.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// maxForm bounds a posted form.
const maxForm = 64 << 10

type handler struct {
	svc    *patkit.Service
	opts   Options
	log    *slog.Logger
	static http.Handler
	sent   sentForms
}

// New returns the token pages as an http.Handler, for a host to mount at
// the root of its mux (they answer only on their own paths, 404
// elsewhere):
//
//	mux.Handle("/", webui.New(svc, &webui.Options{Principal: signedIn}))
//
// Every action goes through svc, which applies patkit's policy. Forms
// posted from another origin are refused (http.CrossOriginProtection);
// pages carry a Content-Security-Policy without inline script and
// Cache-Control: no-store. A new secret is shown once, in the response to
// the POST that made it, never in a URL, cookie or log.
func New(svc *patkit.Service, opts *Options) http.Handler {
	h := &handler{svc: svc}
	if opts != nil {
		h.opts = *opts
	}
	if h.opts.Principal == nil {
		panic("webui: Options.Principal is required")
	}
	h.log = h.opts.Logger
	if h.log == nil {
		h.log = slog.Default()
	}
	sub, _ := fs.Sub(staticFS, "static")
	h.static = http.StripPrefix(StaticPath, http.FileServerFS(sub))
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, nil, http.StatusForbidden, "Refused: this form was sent from another site",
			"The request did not come from this site's own pages, so nothing was changed. If you meant to do this, go back to the page and send the form from there.")
	}))
	protected := cop.Handler(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w.Header())
		protected.ServeHTTP(w, r)
	})
}

// securityHeaders sets the headers of every response, refusals included.
func securityHeaders(hd http.Header) {
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Frame-Options", "DENY")
	// Every page holds personal data, and some a secret: none is stored.
	hd.Set("Cache-Control", "no-store")
}

// pages are the parsed templates, shared by every handler and parsed
// when the first page is rendered: a host that serves its pages rarely
// keeps no parse trees (150 KB of pointers the collector would mark at
// every cycle) until then. The templates are embedded, and
// TestParsePages parses them all, so parsing cannot fail in a build that
// passed its tests.
var pages = sync.OnceValue(parsePages)

func parsePages() map[string]*template.Template {
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	pages := map[string]*template.Template{}
	for _, name := range []string{"tokens", "confirm", "admin", "error"} {
		pages[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, "templates/"+name+".html"))
	}
	return pages
}

// route is what a path asks for.
type route struct {
	kind   string // "personal", "project", "group", "admin"
	ref    string // the project's or group's path
	id     int64  // a token, or 0
	action string // "", "rotate", "revoke"
	base   string // the list page's path
}

// parse recognises the Handler's paths.
func parse(path string) (route, bool) {
	var rt route
	var rest string
	switch {
	case path == PersonalPath || strings.HasPrefix(path, PersonalPath+"/"):
		rt.kind, rt.base, rest = "personal", PersonalPath, path[len(PersonalPath):]
	case path == AdminPath || strings.HasPrefix(path, AdminPath+"/"):
		rt.kind, rt.base, rest = "admin", AdminPath, path[len(AdminPath):]
	default:
		i := strings.Index(path, ProjectSuffix)
		if i < 1 || (len(path) > i+len(ProjectSuffix) && path[i+len(ProjectSuffix)] != '/') {
			return rt, false
		}
		rt.ref, rest = path[1:i], path[i+len(ProjectSuffix):]
		rt.kind, rt.base = "project", path[:i+len(ProjectSuffix)]
		if g, ok := strings.CutPrefix(path[:i], GroupPrefix); ok {
			rt.kind, rt.ref = "group", g
		}
		if rt.ref == "" || strings.Contains(rt.ref, "/-/") || strings.Contains(rt.ref, "//") {
			return rt, false
		}
	}
	if rest == "" {
		return rt, true
	}
	parts := strings.Split(strings.TrimPrefix(rest, "/"), "/")
	if len(parts) != 2 || (parts[1] != "rotate" && parts[1] != "revoke") || (rt.kind == "admin" && parts[1] != "revoke") {
		return rt, false
	}
	id, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != parts[0] {
		return rt, false
	}
	rt.id, rt.action = id, parts[1]
	return rt, true
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	if strings.HasPrefix(r.URL.Path, StaticPath) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
			return
		}
		hd.Set("Cache-Control", "public, max-age=3600")
		h.static.ServeHTTP(w, r)
		return
	}
	rt, ok := parse(r.URL.Path)
	if !ok {
		h.fail(w, r, nil, http.StatusNotFound, "Page not found", "There is no page at this address, or you may not see it.")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodPost {
		hd.Set("Allow", "GET, HEAD, POST")
		h.fail(w, r, nil, http.StatusMethodNotAllowed, "Method not allowed", "This page answers GET and POST only.")
		return
	}
	if r.Method == http.MethodPost && rt.kind == "admin" && rt.action == "" {
		hd.Set("Allow", "GET, HEAD")
		h.fail(w, r, nil, http.StatusMethodNotAllowed, "Method not allowed", "This page answers GET only.")
		return
	}
	p, err := h.opts.Principal(r)
	switch {
	case errors.Is(err, patkit.ErrForbidden):
		h.fail(w, r, nil, http.StatusForbidden, "Your account is blocked", "Blocked users cannot manage access tokens.")
		return
	case err != nil && !errors.Is(err, patkit.ErrUnauthorized):
		h.failure(w, r, nil, err)
		return
	case p.User() == nil:
		h.signIn(w, r)
		return
	}
	c := &call{h: h, w: w, r: r, p: p, rt: rt}
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			h.fail(w, r, p, http.StatusBadRequest, "Bad request", "The form could not be read.")
			return
		}
		// A form holds the user it was made for: one sent after another
		// user signed in (a stale tab) changes nothing.
		if r.PostForm.Get("as") != strconv.FormatInt(p.User().ID, 10) {
			h.fail(w, r, p, http.StatusConflict, "This page is out of date",
				"The form was made for another sign-in (you are signed in as "+p.User().Username+" now), so nothing was changed. Reload the page and try again.")
			return
		}
	}
	switch {
	case rt.kind == "admin" && rt.action == "":
		c.admin()
	case rt.action == "":
		c.tokens()
	default:
		c.confirmOrAct()
	}
}

// signIn sends a visitor who is not signed in to the host's sign-in page.
func (h *handler) signIn(w http.ResponseWriter, r *http.Request) {
	if h.opts.SignInURL == "" || r.Method != http.MethodGet {
		h.fail(w, r, nil, http.StatusUnauthorized, "Sign in first", "You need to sign in to see this page.")
		return
	}
	u := h.opts.SignInURL
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	http.Redirect(w, r, u+sep+"return_to="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
}

// render writes a page with status.
func (h *handler) render(w http.ResponseWriter, r *http.Request, name string, status int, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var b strings.Builder
	if err := pages()[name].Execute(&b, data); err != nil {
		h.log.Error("webui: render", "page", name, "err", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(b.String()))
	}
}

// errorPage is the data of the error page.
type errorPage struct {
	layout
	Message string
}

// fail renders the error page.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, p *patkit.Principal, status int, title, msg string) {
	h.render(w, r, "error", status, &errorPage{layout: h.layout(p, title, ""), Message: msg})
}

// failure answers an error that is not a refusal: 503 when the store is
// unreachable, else 500; both logged without the request's form.
func (h *handler) failure(w http.ResponseWriter, r *http.Request, p *patkit.Principal, err error) {
	if errors.Is(err, patkit.ErrUnavailable) {
		h.log.Warn("webui: store unavailable", "path", r.URL.Path, "err", err)
		h.fail(w, r, p, http.StatusServiceUnavailable, "Service unavailable", "The token store cannot be reached. Try again in a moment.")
		return
	}
	h.log.Error("webui: failure", "method", r.Method, "path", r.URL.Path, "err", err)
	h.fail(w, r, p, http.StatusInternalServerError, "Something went wrong", "The request failed; nothing was changed.")
}

// layout is what every page shows around its content.
type layout struct {
	Title   string
	User    *patkit.User
	Admin   bool
	Current string // the nav entry of the page
	SignOut string
}

func (h *handler) layout(p *patkit.Principal, title, current string) layout {
	return layout{Title: title, User: p.User(), Admin: p.Admin(), Current: current, SignOut: h.opts.SignOutURL}
}

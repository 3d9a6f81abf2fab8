package main

import (
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/webui"
)

// mountWebUI mounts the token pages (package webui) at GitLab's paths,
// behind the demo sign-in at /-/demo/sign_in.
func mountWebUI(mux *http.ServeMux, svc *patkit.Service, log *slog.Logger) {
	mux.Handle("/", webui.New(svc, &webui.Options{
		Principal:  demoPrincipal(svc),
		SignInURL:  "/-/demo/sign_in",
		SignOutURL: "/-/demo/sign_out",
		Logger:     log,
	}))
	mux.Handle("/-/demo/", http.NewCrossOriginProtection().Handler(http.HandlerFunc(demoSignIn)))
	mux.Handle("GET /{$}", http.RedirectHandler(webui.PersonalPath, http.StatusSeeOther))
}

// demoUsers are the users the demo sign-in offers, by the value of its
// cookie.
var demoUsers = map[string]int64{"root": 1, "alice": 2, "bob": 3}

// demoCookie names the demo's session cookie: just the username. This is
// a demo: anyone may sign in as anyone, and the cookie is not signed.
// A real host uses its own sign-in.
const demoCookie = "patkit_demo_user"

// demoPrincipal reads the demo cookie; root's session is in admin mode.
func demoPrincipal(svc *patkit.Service) func(*http.Request) (*patkit.Principal, error) {
	return func(r *http.Request) (*patkit.Principal, error) {
		c, err := r.Cookie(demoCookie)
		if err != nil {
			return nil, nil
		}
		id, ok := demoUsers[c.Value]
		if !ok {
			return nil, nil
		}
		return svc.Principal(r.Context(), id, true)
	}
}

var signInPage = template.Must(template.New("").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo sign-in</title><link rel="stylesheet" href="/-/patkit/static/style.css"></head>
<body><main id="main">
<h1>Demo sign-in</h1>
<p class="warning" role="note"><strong>Demo sign-in, not for production.</strong> Anyone may sign in as anyone here: the example server has no passwords. A real host mounts the token pages behind its own sign-in.</p>
<form method="post" action="/-/demo/sign_in">
<input type="hidden" name="return_to" value="{{.}}">
<fieldset><legend>Sign in as</legend>
<div class="actions">
<button type="submit" name="user" value="root" class="primary">root (administrator)</button>
<button type="submit" name="user" value="alice" class="primary">alice</button>
<button type="submit" name="user" value="bob" class="primary">bob</button>
</div></fieldset></form>
<p class="help">alice is a Maintainer of the project acme/widgets and an Owner of the group acme; bob is a Developer and a Reporter there.</p>
<h2>The pages</h2>
<ul>
<li><a href="/-/user_settings/personal_access_tokens">Personal access tokens</a></li>
<li><a href="/acme/widgets/-/settings/access_tokens">Project access tokens of acme/widgets</a> (Maintainers)</li>
<li><a href="/groups/acme/-/settings/access_tokens">Group access tokens of acme</a> (Owners)</li>
<li><a href="/admin/credentials">Credentials inventory</a> (administrators)</li>
</ul>
</main></body></html>`))

// demoSignIn serves the demo's sign-in and sign-out.
func demoSignIn(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case r.URL.Path == "/-/demo/sign_in" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		signInPage.Execute(w, r.URL.Query().Get("return_to"))
	case r.URL.Path == "/-/demo/sign_in" && r.Method == http.MethodPost:
		user := r.PostFormValue("user")
		if _, ok := demoUsers[user]; !ok {
			http.Error(w, "unknown demo user", http.StatusBadRequest)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: demoCookie, Value: user, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		back := r.PostFormValue("return_to")
		if !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") || strings.Contains(back, "\\") {
			back = webui.PersonalPath
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
	case r.URL.Path == "/-/demo/sign_out" && r.Method == http.MethodPost:
		http.SetCookie(w, &http.Cookie{Name: demoCookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, "/-/demo/sign_in", http.StatusSeeOther)
	default:
		http.NotFound(w, r)
	}
}

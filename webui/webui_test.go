package webui_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/webui"
)

const pats = webui.PersonalPath

func create(name string, scopes ...string) url.Values {
	return url.Values{"name": {name}, "scopes": scopes, "expires_at": {"2026-06-30"}}
}

func TestPersonalPage(t *testing.T) {
	s := newSite(t)
	w := s.do(t, alice, http.MethodGet, pats, nil)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	for k, want := range map[string]string{
		"Cache-Control":           "no-store",
		"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"X-Content-Type-Options":  "nosniff",
		"Content-Type":            "text/html; charset=utf-8",
	} {
		if got := w.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	body := w.Body.String()
	wantIn(t, body, "Signed in as <strong>alice</strong>",
		`<label for="name">Token name</label>`,
		`name="scopes" value="api"`, `name="scopes" value="read_user"`, "Grants complete read/write access to the API",
		`type="date" value="2027-03-10" min="2026-03-11" max="2027-03-10"`,
		`<input type="hidden" name="as" value="2">`,
		"This user has no active access tokens.")
	// Administrators' scopes are not offered to alice, and nothing is
	// inline: no script or style element with content, no on* handler.
	wantNotIn(t, body, `value="sudo"`, `value="admin_mode"`, "<style", "style=", " onclick", "<script>")
	if strings.Count(body, "<script") != 1 || !strings.Contains(body, `<script src="/-/patkit/static/copy.js" defer></script>`) {
		t.Error("the page must load exactly the copy script, from a file")
	}
	wantIn(t, s.get(t, root, pats, http.StatusOK), `value="sudo"`, `value="admin_mode"`, "Credentials inventory")
}

func TestCreateShowsSecretOnce(t *testing.T) {
	s := newSite(t)
	w := s.post(t, alice, pats, url.Values{"name": {"laptop"}, "description": {"my laptop"}, "scopes": {"read_api", "read_user"}, "expires_at": {"2026-06-30"}}, http.StatusOK)
	if w.Header().Get("Location") != "" || w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", w.Header())
	}
	body := w.Body.String()
	secret := secretIn(t, body)
	wantIn(t, body, "Your new personal access token has been created.", "Make sure you save it", `data-copy="new-token"`,
		"laptop", "my laptop", "read_api, read_user", "2026-06-30", "in 112 days")
	p, err := s.svc.Authenticate(t.Context(), secret, patkit.AuthRequest{})
	if err != nil || p.User().Username != "alice" || p.Token().Name != "laptop" {
		t.Fatalf("the secret shown does not authenticate alice: %v", err)
	}
	// Never again: the list shows the token, not its secret.
	page := s.get(t, alice, pats, http.StatusOK)
	wantIn(t, page, "laptop", "Active personal access tokens <span class=\"count\">(1)</span>")
	if secretRE.MatchString(page) {
		t.Error("the list shows a secret")
	}
	// bob does not see alice's token.
	wantNotIn(t, s.get(t, bob, pats, http.StatusOK), "laptop")
}

func TestCreateBadInput(t *testing.T) {
	s := newSite(t)
	tests := []struct {
		name   string
		form   url.Values
		status int
		want   []string
	}{
		{"blank name and no scope", url.Values{"name": {"  "}, "description": {"kept <b>text</b>"}, "expires_at": {"2026-06-30"}}, http.StatusUnprocessableEntity,
			[]string{`<p class="error" id="err-name">Name can&#39;t be blank</p>`, `<p class="error" id="err-scopes">Scopes can&#39;t be blank</p>`,
				`kept &lt;b&gt;text&lt;/b&gt;</textarea>`, `aria-invalid="true" aria-describedby="err-name"`, `value="2026-06-30"`}},
		{"expiry beyond the maximum", url.Values{"name": {"x"}, "scopes": {"api"}, "expires_at": {"2027-03-11"}}, http.StatusUnprocessableEntity,
			[]string{`<p class="error" id="err-expires_at">Expiration date must be before 2027-03-10</p>`, `value="x"`, `value="api" checked`, `value="2027-03-11"`}},
		{"a date that is no date", url.Values{"name": {"x"}, "scopes": {"api"}, "expires_at": {"next week"}}, http.StatusUnprocessableEntity,
			[]string{"Expiration date is invalid", `value="next week"`}},
		{"the zero time's date", url.Values{"name": {"x"}, "scopes": {"api"}, "expires_at": {"0001-01-01"}}, http.StatusUnprocessableEntity,
			[]string{"Expiration date is invalid", `value="0001-01-01"`}},
		{"an administrator's scope", url.Values{"name": {"x"}, "scopes": {"sudo"}, "expires_at": {"2026-06-30"}}, http.StatusUnprocessableEntity,
			[]string{"Scopes can only contain available scopes"}},
		{"a name too long", url.Values{"name": {strings.Repeat("n", 256)}, "scopes": {"api"}}, http.StatusUnprocessableEntity,
			[]string{"Name is too long (maximum is 255 characters)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := s.post(t, alice, pats, tt.form, tt.status)
			wantIn(t, w.Body.String(), tt.want...)
			wantIn(t, w.Body.String(), `role="alert"`)
		})
	}
	pg, _ := s.svc.ListTokens(t.Context(), mustPrincipal(t, s, alice), patkit.Filter{})
	if len(pg.Tokens) != 0 {
		t.Errorf("bad forms created %d tokens", len(pg.Tokens))
	}
}

func mustPrincipal(t *testing.T, s *site, id int64) *patkit.Principal {
	t.Helper()
	p, err := s.svc.Principal(t.Context(), id, true)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newToken creates a token for user through the page and returns its ID
// and secret.
func newToken(t *testing.T, s *site, user int64, path string, form url.Values) (int64, string) {
	t.Helper()
	secret := secretIn(t, s.post(t, user, path, form, http.StatusOK).Body.String())
	p, err := s.svc.Authenticate(t.Context(), secret, patkit.AuthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return p.Token().ID, secret
}

func TestRotateAndRevoke(t *testing.T) {
	s := newSite(t)
	id, old := newToken(t, s, alice, pats, create("ci", "api", "read_user"))
	path := pats + "/" + strconv.FormatInt(id, 10)

	// Rotation asks first, then shows the new secret once.
	wantIn(t, s.get(t, alice, path+"/rotate", http.StatusOK), "Rotate ci?", `<button type="submit" class="primary" autofocus>Rotate token</button>`, "api, read_user")
	w := s.post(t, alice, path+"/rotate", nil, http.StatusOK)
	fresh := secretIn(t, w.Body.String())
	wantIn(t, w.Body.String(), "The token was rotated")
	if _, err := s.svc.Authenticate(t.Context(), old, patkit.AuthRequest{}); err == nil {
		t.Error("the rotated token still works")
	}
	p, err := s.svc.Authenticate(t.Context(), fresh, patkit.AuthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// Rotating the old one again is refused, nothing changed.
	wantIn(t, s.post(t, alice, path+"/rotate", nil, http.StatusBadRequest).Body.String(), "Token already revoked")

	// Revocation asks, then redirects (Post/Redirect/Get).
	path = pats + "/" + strconv.FormatInt(p.Token().ID, 10)
	wantIn(t, s.get(t, alice, path+"/revoke", http.StatusOK), "Revoke ci?", "cannot be undone")
	w = s.post(t, alice, path+"/revoke", nil, http.StatusSeeOther)
	if loc := w.Header().Get("Location"); loc != pats+"?notice=revoked" {
		t.Errorf("Location %q", loc)
	}
	if _, err := s.svc.Authenticate(t.Context(), fresh, patkit.AuthRequest{}); err == nil {
		t.Error("the revoked token still works")
	}
	page := s.get(t, alice, pats+"?notice=revoked", http.StatusOK)
	wantIn(t, page, "The token was revoked.", "Active personal access tokens <span class=\"count\">(0)</span>",
		"Inactive personal access tokens <span class=\"count\">(2)</span>", `<span class="due">revoked</span>`)
}

func TestOtherUsersTokensAre404(t *testing.T) {
	s := newSite(t)
	id, secret := newToken(t, s, alice, pats, create("mine", "api"))
	for _, action := range []string{"rotate", "revoke"} {
		path := pats + "/" + strconv.FormatInt(id, 10) + "/" + action
		s.get(t, bob, path, http.StatusNotFound)
		s.post(t, bob, path, nil, http.StatusNotFound)
		// An administrator's own page lists their own tokens only, too.
		s.get(t, root, path, http.StatusNotFound)
	}
	s.get(t, alice, pats+"/999/revoke", http.StatusNotFound)
	if _, err := s.svc.Authenticate(t.Context(), secret, patkit.AuthRequest{}); err != nil {
		t.Errorf("bob's posts changed alice's token: %v", err)
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	s := newSite(t)
	form := create("evil", "api")
	form.Set("as", "2")
	for _, hdr := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Origin", "https://evil.example"},
	} {
		w := s.do(t, alice, http.MethodPost, pats, form, hdr...)
		if w.Code != http.StatusForbidden {
			t.Errorf("%v: status %d", hdr, w.Code)
		}
		wantIn(t, w.Body.String(), "this form was sent from another site", "nothing was changed")
		if w.Header().Get("Content-Security-Policy") == "" {
			t.Error("the refusal has no CSP")
		}
	}
	// The same form from the page itself is accepted.
	if w := s.do(t, alice, http.MethodPost, pats, form, "Sec-Fetch-Site", "same-origin"); w.Code != http.StatusOK {
		t.Errorf("same-origin post: %d", w.Code)
	}
	pg, _ := s.svc.ListTokens(t.Context(), mustPrincipal(t, s, alice), patkit.Filter{})
	if len(pg.Tokens) != 1 {
		t.Errorf("%d tokens, want the one same-origin token", len(pg.Tokens))
	}
}

func TestStaleFormRefused(t *testing.T) {
	s := newSite(t)
	id, secret := newToken(t, s, alice, pats, create("mine", "api"))
	// A tab still showing alice's page posts after bob signed in.
	form := url.Values{"as": {"2"}}
	w := s.post(t, bob, pats+"/"+strconv.FormatInt(id, 10)+"/revoke", form, http.StatusConflict)
	wantIn(t, w.Body.String(), "This page is out of date", "signed in as bob now", "nothing was changed")
	s.post(t, alice, pats, url.Values{"as": {""}, "name": {"x"}, "scopes": {"api"}}, http.StatusConflict)
	if _, err := s.svc.Authenticate(t.Context(), secret, patkit.AuthRequest{}); err != nil {
		t.Errorf("the stale post changed the token: %v", err)
	}
}

func TestProjectTokens(t *testing.T) {
	s := newSite(t)
	const path = "/acme/widgets/-/settings/access_tokens"
	body := s.get(t, alice, path, http.StatusOK)
	wantIn(t, body, "Project access tokens · acme/widgets", `<option value="40">Maintainer</option>`, `<option value="10" selected>Guest</option>`,
		"Only the roles you may grant are offered.", `value="read_repository"`)
	// A Maintainer may not grant Owner, and read_user is no project scope.
	wantNotIn(t, body, `<option value="50">`, `value="read_user"`)

	w := s.post(t, alice, path, url.Values{"name": {"deploy"}, "scopes": {"read_repository", "read_api"}, "access_level": {"40"}, "expires_at": {"2026-12-31"}}, http.StatusOK)
	secret := secretIn(t, w.Body.String())
	wantIn(t, w.Body.String(), "Your new project access token has been created.", "<td data-label=\"Role\">Maintainer</td>")
	p, err := s.svc.Authenticate(t.Context(), secret, patkit.AuthRequest{})
	if err != nil || !p.User().Bot {
		t.Fatalf("project token: %v", err)
	}
	// Owner posted by hand is refused by the Service, the form kept.
	w = s.post(t, alice, path, url.Values{"name": {"boss"}, "scopes": {"api"}, "access_level": {"50"}}, http.StatusUnprocessableEntity)
	wantIn(t, w.Body.String(), "Could not provision owner access to project access token", `value="boss"`)

	// bob, a Developer, gets 404 for the page and every action.
	id := strconv.FormatInt(p.Token().ID, 10)
	s.get(t, bob, path, http.StatusNotFound)
	s.get(t, bob, path+"/"+id+"/revoke", http.StatusNotFound)
	s.post(t, bob, path+"/"+id+"/revoke", nil, http.StatusNotFound)
	s.post(t, bob, path, url.Values{"name": {"x"}, "scopes": {"api"}, "access_level": {"10"}}, http.StatusNotFound)
	s.get(t, alice, "/acme/nothing/-/settings/access_tokens", http.StatusNotFound)

	// Rotate and revoke through the project's page.
	w = s.post(t, alice, path+"/"+id+"/rotate", nil, http.StatusOK)
	fresh := secretIn(t, w.Body.String())
	p, err = s.svc.Authenticate(t.Context(), fresh, patkit.AuthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	s.post(t, alice, path+"/"+strconv.FormatInt(p.Token().ID, 10)+"/revoke", nil, http.StatusSeeOther)
	if _, err := s.svc.Authenticate(t.Context(), fresh, patkit.AuthRequest{}); err == nil {
		t.Error("revoked project token works")
	}
}

func TestRotateAboveOwnRoleRefused(t *testing.T) {
	s := newSite(t)
	const path = "/acme/widgets/-/settings/access_tokens"
	// root (an administrator) made an Owner token; alice, a Maintainer,
	// may see it but not rotate it.
	id, secret := newToken(t, s, root, path, url.Values{"name": {"owner"}, "scopes": {"api"}, "access_level": {"50"}})
	w := s.post(t, alice, path+"/"+strconv.FormatInt(id, 10)+"/rotate", nil, http.StatusBadRequest)
	wantIn(t, w.Body.String(), "Not eligible to rotate tokens with permissions not held by the user. Nothing was changed.")
	if _, err := s.svc.Authenticate(t.Context(), secret, patkit.AuthRequest{}); err != nil {
		t.Errorf("the refused rotation changed the token: %v", err)
	}
}

func TestGroupTokens(t *testing.T) {
	s := newSite(t)
	const path = "/groups/acme/-/settings/access_tokens"
	// alice owns the group: Owner is hers to grant.
	wantIn(t, s.get(t, alice, path, http.StatusOK), "Group access tokens · acme", `<option value="50">Owner</option>`)
	secretIn(t, s.post(t, alice, path, url.Values{"name": {"g"}, "scopes": {"api"}, "access_level": {"50"}}, http.StatusOK).Body.String())
	s.get(t, bob, path, http.StatusNotFound)
	// The project page path under /groups/ is not a project.
	s.get(t, alice, "/groups/-/settings/access_tokens", http.StatusNotFound)
}

func TestLosingAccessMidSession(t *testing.T) {
	s := newSite(t)
	const path = "/acme/widgets/-/settings/access_tokens"
	id, secret := newToken(t, s, alice, path, url.Values{"name": {"d"}, "scopes": {"api"}, "access_level": {"30"}})
	s.get(t, alice, path+"/"+strconv.FormatInt(id, 10)+"/revoke", http.StatusOK)
	// alice is demoted while the confirmation is open.
	s.dir.SetAccess(patkit.ResourceProject, 1, alice, patkit.Developer)
	s.post(t, alice, path+"/"+strconv.FormatInt(id, 10)+"/revoke", nil, http.StatusNotFound)
	s.post(t, alice, path, url.Values{"name": {"x"}, "scopes": {"api"}, "access_level": {"10"}}, http.StatusNotFound)
	if _, err := s.svc.Authenticate(t.Context(), secret, patkit.AuthRequest{}); err != nil {
		t.Errorf("the token was revoked by someone who lost access: %v", err)
	}
}

func TestProjectCreationDisabled(t *testing.T) {
	s := newSite(t)
	s.dir.AddResource(patkit.Resource{Type: patkit.ResourceProject, ID: 2, FullPath: "acme/locked", TokenCreationDisabled: true})
	s.dir.SetAccess(patkit.ResourceProject, 2, alice, patkit.Maintainer)
	body := s.get(t, alice, "/acme/locked/-/settings/access_tokens", http.StatusOK)
	wantIn(t, body, "User does not have permission to create project access token.")
	wantNotIn(t, body, "Create token")
}

func TestAdminInventory(t *testing.T) {
	s := newSite(t)
	newToken(t, s, alice, pats, create("alice-ci", "api"))
	newToken(t, s, bob, pats, url.Values{"name": {"bob-soon"}, "scopes": {"read_api"}, "expires_at": {"2026-03-14"}})
	newToken(t, s, alice, "/acme/widgets/-/settings/access_tokens", url.Values{"name": {"deploy"}, "scopes": {"api"}, "access_level": {"30"}})

	body := s.get(t, root, webui.AdminPath, http.StatusOK)
	wantIn(t, body, "Credentials inventory", "3 tokens", "alice-ci", "bob-soon", "deploy", "Project (Developer)",
		`<td data-label="Owner">alice</td>`, `<td data-label="Owner">bob</td>`, `<span class="due soon">in 4 days</span>`)
	wantIn(t, s.get(t, root, webui.AdminPath+"?user=bob", http.StatusOK), "1 token", "bob-soon")
	wantNotIn(t, s.get(t, root, webui.AdminPath+"?user=bob", http.StatusOK), "alice-ci")
	exp := s.get(t, root, webui.AdminPath+"?expiring=1", http.StatusOK)
	wantIn(t, exp, "1 token", "bob-soon")
	wantIn(t, s.get(t, root, webui.AdminPath+"?search=alice", http.StatusOK), "1 token", "alice-ci")
	wantIn(t, s.get(t, root, webui.AdminPath+"?user=nobody", http.StatusUnprocessableEntity), "User nobody does not exist", `value="nobody"`)
	wantIn(t, s.get(t, root, webui.AdminPath+"?state=weird", http.StatusUnprocessableEntity), "State does not have a valid value")
	proj := s.get(t, root, webui.AdminPath+"?kind=project", http.StatusOK)
	wantIn(t, proj, "1 token", "deploy", `<option value="project" selected>Project</option>`)
	wantNotIn(t, proj, "alice-ci", "bob-soon")
	pers := s.get(t, root, webui.AdminPath+"?kind=personal", http.StatusOK)
	wantIn(t, pers, "2 tokens", "alice-ci", "bob-soon")
	wantNotIn(t, pers, ">deploy<")
	wantIn(t, s.get(t, root, webui.AdminPath+"?kind=impersonation", http.StatusOK), "No tokens")
	wantIn(t, s.get(t, root, webui.AdminPath+"?kind=weird", http.StatusUnprocessableEntity), "Kind does not have a valid value")

	// Revoke from the inventory.
	pg, _ := s.svc.ListUserTokens(t.Context(), mustPrincipal(t, s, root), bob, patkit.Filter{})
	id := strconv.FormatInt(pg.Tokens[0].ID, 10)
	wantIn(t, s.get(t, root, webui.AdminPath+"/"+id+"/revoke", http.StatusOK), "Revoke bob-soon?", "<dt>Owner</dt><dd>bob</dd>")
	if loc := s.post(t, root, webui.AdminPath+"/"+id+"/revoke", nil, http.StatusSeeOther).Header().Get("Location"); loc != webui.AdminPath+"?notice=revoked" {
		t.Errorf("Location %q", loc)
	}
	wantIn(t, s.get(t, root, webui.AdminPath+"?state=inactive", http.StatusOK), "1 token", "bob-soon")

	// Nobody else sees it.
	s.get(t, alice, webui.AdminPath, http.StatusNotFound)
	s.get(t, alice, webui.AdminPath+"/"+id+"/revoke", http.StatusNotFound)
	s.post(t, alice, webui.AdminPath+"/"+id+"/revoke", nil, http.StatusNotFound)
	s.get(t, root, webui.AdminPath+"/"+id+"/rotate", http.StatusNotFound)
}

func TestNotSignedIn(t *testing.T) {
	s := newSite(t)
	w := s.do(t, 0, http.MethodGet, "/acme/widgets/-/settings/access_tokens", nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/sign_in?return_to=%2Facme%2Fwidgets%2F-%2Fsettings%2Faccess_tokens" {
		t.Errorf("%d %q", w.Code, w.Header().Get("Location"))
	}
	w = s.do(t, 0, http.MethodPost, pats, create("x", "api"))
	if w.Code != http.StatusUnauthorized {
		t.Errorf("post without sign-in: %d", w.Code)
	}
	// A user who no longer exists is nobody.
	w = s.do(t, 99, http.MethodGet, pats, nil)
	if w.Code != http.StatusSeeOther {
		t.Errorf("unknown user: %d", w.Code)
	}
}

func TestPathsAndMethods(t *testing.T) {
	s := newSite(t)
	for _, p := range []string{"/", "/-/user_settings", pats + "/", pats + "/1", pats + "/1/delete", pats + "/01/revoke", pats + "/-1/revoke",
		pats + "/1/revoke/x", "/-/settings/access_tokens", "/a//b/-/settings/access_tokens", "/acme/widgets/-/settings/access_tokensx",
		webui.AdminPath + "/1/rotate", "/x/-/y/-/settings/access_tokens"} {
		if w := s.do(t, alice, http.MethodGet, p, nil); w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, w.Code)
		}
	}
	if w := s.do(t, alice, http.MethodDelete, pats, nil); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("DELETE: %d", w.Code)
	}
	if w := s.do(t, root, http.MethodPost, webui.AdminPath, url.Values{"as": {"1"}}); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST inventory: %d", w.Code)
	}
}

func TestStaticFiles(t *testing.T) {
	s := newSite(t)
	for path, ctype := range map[string]string{
		webui.StaticPath + "style.css": "text/css; charset=utf-8",
		webui.StaticPath + "copy.js":   "text/javascript; charset=utf-8",
	} {
		w := s.do(t, 0, http.MethodGet, path, nil)
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != ctype || w.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("%s: %d %v", path, w.Code, w.Header())
		}
	}
	if w := s.do(t, 0, http.MethodGet, webui.StaticPath+"nothing.js", nil); w.Code != http.StatusNotFound {
		t.Errorf("missing file: %d", w.Code)
	}
}

// The create form sent twice (a reload of the page that shows the new
// secret re-posts it) creates one token: the second answers 409 and shows
// no secret.
func TestCreateFormSentTwice(t *testing.T) {
	s := newSite(t)
	formID := regexp.MustCompile(`name="form_id" value="([^"]+)"`).FindStringSubmatch(s.get(t, alice, pats, http.StatusOK))
	if formID == nil {
		t.Fatal("the create form has no form_id")
	}
	form := func() url.Values {
		return url.Values{"name": {"laptop"}, "scopes": {"read_api"}, "form_id": {formID[1]}}
	}
	secretIn(t, s.post(t, alice, pats, form(), http.StatusOK).Body.String())
	again := s.post(t, alice, pats, form(), http.StatusConflict).Body.String()
	wantIn(t, again, "already")
	if secretRE.MatchString(again) {
		t.Error("the second post shows a secret")
	}
	pg, err := s.svc.ListUserTokens(t.Context(), mustPrincipal(t, s, alice), alice, patkit.Filter{})
	if err != nil || pg.Total != 1 {
		t.Fatalf("alice has %v tokens (%v), want 1", pg.Total, err)
	}
	// An ID longer than the pages make is not remembered.
	long := form()
	long.Set("form_id", strings.Repeat("x", 65))
	long.Set("name", "long1")
	s.post(t, alice, pats, long, http.StatusOK)
	long.Set("name", "long2")
	s.post(t, alice, pats, long, http.StatusOK)
	// A form that failed validation may be sent again, corrected.
	bad := form()
	bad.Set("form_id", "another")
	bad.Del("name")
	s.post(t, alice, pats, bad, http.StatusUnprocessableEntity)
	bad.Set("name", "desktop")
	secretIn(t, s.post(t, alice, pats, bad, http.StatusOK).Body.String())
}

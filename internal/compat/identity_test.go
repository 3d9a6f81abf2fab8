package compat

import (
	"net/http"
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go"

	"github.com/patkit/patkit"
)

// The lookups GitLab's clients make before they manage tokens, through
// client-go's own calls.

func TestUsersCurrentUser(t *testing.T) {
	e := setup(t)
	u, resp, err := e.root.Users.CurrentUser()
	ok(t, "root", resp, err, http.StatusOK)
	if u.ID != 1 || u.Username != "root" || u.Name != "Administrator" || u.State != "active" || !u.IsAdmin ||
		u.Bot || u.WebURL != e.srv.URL+"/root" || u.Locked {
		t.Errorf("root = %+v", u)
	}

	_, alice := e.pat(2, "alice", "read_user")
	u, resp, err = alice.Users.CurrentUser()
	ok(t, "alice, read_user", resp, err, http.StatusOK)
	if u.ID != 2 || u.Username != "alice" || u.IsAdmin {
		t.Errorf("alice = %+v", u)
	}
	if strings.Contains(string(e.lastResponse().body), `"is_admin"`) {
		t.Errorf("a user sees admin fields: %s", e.lastResponse().body)
	}

	// glab's --user @me under an impersonation token: the user.
	imp, resp, err := e.root.Users.CreateImpersonationToken(3, &gitlab.CreateImpersonationTokenOptions{
		Name: new("imp"), Scopes: &[]string{"read_user"}, ExpiresAt: new(t0.AddDate(0, 1, 0)),
	})
	ok(t, "create impersonation token", resp, err, http.StatusCreated)
	u, resp, err = e.client(imp.Token).Users.CurrentUser()
	ok(t, "impersonation", resp, err, http.StatusOK)
	if u.ID != 3 || u.Username != "bob" {
		t.Errorf("impersonated = %+v", u)
	}

	// A project bot is its bot user.
	_, aliceAPI := e.pat(2, "alice-api", "api")
	bot, resp, err := aliceAPI.ProjectAccessTokens.CreateProjectAccessToken("acme/widgets", &gitlab.CreateProjectAccessTokenOptions{
		Name: new("deploy"), Scopes: &[]string{"read_api"},
	})
	ok(t, "create project token", resp, err, http.StatusCreated)
	u, resp, err = e.client(bot.Token).Users.CurrentUser()
	ok(t, "bot", resp, err, http.StatusOK)
	if u.ID != bot.UserID || !u.Bot || !strings.HasPrefix(u.Username, "project_1_bot_") || u.Name != "deploy" {
		t.Errorf("bot = %+v", u)
	}

	// Sudo: the target.
	u, resp, err = e.root.Users.CurrentUser(gitlab.WithSudo("alice"))
	ok(t, "sudo alice", resp, err, http.StatusOK)
	if u.ID != 2 || u.IsAdmin {
		t.Errorf("sudo = %+v", u)
	}

	_, repo := e.pat(3, "bob-repo", "read_repository")
	_, _, err = repo.Users.CurrentUser()
	apiError(t, "read_repository", err, http.StatusForbidden,
		`{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"read_user api read_api"}`)

	_, _, err = e.client("").Users.CurrentUser()
	apiError(t, "anonymous", err, http.StatusUnauthorized, `{"message":"401 Unauthorized"}`)
}

func TestUsersListUsersByUsername(t *testing.T) {
	e := setup(t)
	_, alice := e.pat(2, "alice", "read_user")

	// glab's --user NAME: GET /users?username=NAME.
	us, resp, err := alice.Users.ListUsers(&gitlab.ListUsersOptions{Username: new("BOB")})
	ok(t, "by username", resp, err, http.StatusOK)
	if len(us) != 1 || us[0].ID != 3 || us[0].Username != "bob" || us[0].State != "active" || us[0].WebURL != e.srv.URL+"/bob" {
		t.Errorf("users = %+v", us)
	}
	if resp.TotalItems != 1 || resp.TotalPages != 1 || resp.CurrentPage != 1 {
		t.Errorf("pagination = %v", pagination(resp))
	}
	us, resp, err = alice.Users.ListUsers(&gitlab.ListUsersOptions{Username: new("nobody")})
	ok(t, "unknown", resp, err, http.StatusOK)
	if len(us) != 0 {
		t.Errorf("unknown = %+v", us)
	}

	// Anonymously, by username only.
	anon := e.client("")
	us, resp, err = anon.Users.ListUsers(&gitlab.ListUsersOptions{Username: new("alice")})
	ok(t, "anonymous by username", resp, err, http.StatusOK)
	if len(us) != 1 || us[0].ID != 2 {
		t.Errorf("anonymous = %+v", us)
	}
	_, _, err = anon.Users.ListUsers(&gitlab.ListUsersOptions{})
	apiError(t, "anonymous list", err, http.StatusForbidden, `{"message":"403 Forbidden - Not authorized to access /api/v4/users"}`)

	// Searches and filters, with client-go's pagination.
	us, resp, err = alice.Users.ListUsers(&gitlab.ListUsersOptions{Search: new("o"), ListOptions: gitlab.ListOptions{PerPage: 1, Page: 2}})
	ok(t, "search", resp, err, http.StatusOK)
	if len(us) != 1 || us[0].Username != "root" || resp.TotalItems != 2 || resp.PreviousPage != 1 || resp.NextPage != 0 {
		t.Errorf("search = %+v, pagination %v", us, pagination(resp))
	}
	us, resp, err = e.root.Users.ListUsers(&gitlab.ListUsersOptions{Admins: new(true)})
	ok(t, "admins", resp, err, http.StatusOK)
	if len(us) != 1 || !us[0].IsAdmin {
		t.Errorf("admins = %+v", us)
	}
	_, _, err = alice.Users.ListUsers(&gitlab.ListUsersOptions{OrderBy: new("email")})
	apiError(t, "bad order_by", err, http.StatusBadRequest, `{"error":"order_by does not have a valid value"}`)
}

func TestUsersGetUser(t *testing.T) {
	e := setup(t)
	_, alice := e.pat(2, "alice", "read_api")
	u, resp, err := alice.Users.GetUser(3, gitlab.GetUsersOptions{})
	ok(t, "bob", resp, err, http.StatusOK)
	if u.ID != 3 || u.Username != "bob" || u.Name != "Bob" || u.IsAdmin || u.Bot {
		t.Errorf("bob = %+v", u)
	}
	u, resp, err = e.root.Users.GetUser(1, gitlab.GetUsersOptions{})
	ok(t, "root by root", resp, err, http.StatusOK)
	if !u.IsAdmin {
		t.Errorf("root = %+v", u)
	}
	_, resp, err = alice.Users.GetUser(99, gitlab.GetUsersOptions{})
	e.notFound("unknown", resp, err, `{"message":"404 User Not Found"}`)
	_, _, err = e.client("").Users.GetUser(2, gitlab.GetUsersOptions{})
	apiError(t, "anonymous", err, http.StatusForbidden, `{"message":"403 Forbidden - Not authorized!"}`)
}

func TestProjectsGetProject(t *testing.T) {
	e := setup(t)
	e.dir.AddResource(patkit.Resource{Type: patkit.ResourceProject, ID: 2, FullPath: "acme/secret", Description: "hidden"})
	e.dir.SetAccess(patkit.ResourceProject, 2, 2, patkit.Developer)
	_, alice := e.pat(2, "alice", "read_api")
	_, bob := e.pat(3, "bob", "api")

	for _, pid := range []any{1, "acme/widgets"} {
		p, resp, err := alice.Projects.GetProject(pid, nil)
		ok(t, "widgets", resp, err, http.StatusOK)
		if p.ID != 1 || p.Name != "widgets" || p.Path != "widgets" || p.PathWithNamespace != "acme/widgets" ||
			p.NameWithNamespace != "acme / widgets" || p.Visibility != gitlab.PublicVisibility ||
			p.WebURL != e.srv.URL+"/acme/widgets" || p.Namespace == nil || p.Namespace.ID != 1 ||
			p.Namespace.Kind != "group" || p.Namespace.FullPath != "acme" ||
			p.Permissions == nil || p.Permissions.ProjectAccess == nil ||
			p.Permissions.ProjectAccess.AccessLevel != gitlab.MaintainerPermissions ||
			p.Permissions.GroupAccess == nil || p.Permissions.GroupAccess.AccessLevel != gitlab.OwnerPermissions {
			t.Errorf("project %v = %+v", pid, p)
		}
	}
	p, resp, err := alice.Projects.GetProject("acme/secret", nil)
	ok(t, "private, member", resp, err, http.StatusOK)
	if p.ID != 2 || p.Visibility != gitlab.PrivateVisibility || p.Description != "hidden" {
		t.Errorf("secret = %+v", p)
	}
	_, resp, err = bob.Projects.GetProject("acme/secret", nil)
	e.notFound("private, not a member", resp, err, `{"message":"404 Project Not Found"}`)
	_, resp, err = bob.Projects.GetProject(99, nil)
	e.notFound("unknown", resp, err, `{"message":"404 Project Not Found"}`)

	p, resp, err = e.client("").Projects.GetProject("acme/widgets", nil)
	ok(t, "anonymous, public", resp, err, http.StatusOK)
	if p.ID != 1 || p.Permissions != nil {
		t.Errorf("anonymous = %+v", p)
	}
	_, resp, err = e.client("").Projects.GetProject(2, nil)
	e.notFound("anonymous, private", resp, err, `{"message":"404 Project Not Found"}`)

	_, readUser := e.pat(2, "alice-user", "read_user")
	_, _, err = readUser.Projects.GetProject(1, nil)
	apiError(t, "read_user", err, http.StatusForbidden,
		`{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"api read_api"}`)
}

func TestGroupsGetGroup(t *testing.T) {
	e := setup(t)
	e.dir.AddResource(patkit.Resource{Type: patkit.ResourceGroup, ID: 2, FullPath: "acme/team", Name: "Team"})
	e.dir.SetAccess(patkit.ResourceGroup, 2, 2, patkit.Maintainer)
	_, alice := e.pat(2, "alice", "read_api")
	_, bob := e.pat(3, "bob", "read_api")

	for _, gid := range []any{1, "acme"} {
		g, resp, err := bob.Groups.GetGroup(gid, nil)
		ok(t, "acme", resp, err, http.StatusOK)
		if g.ID != 1 || g.Name != "acme" || g.Path != "acme" || g.FullPath != "acme" || g.FullName != "acme" ||
			g.Visibility != gitlab.PublicVisibility || g.WebURL != e.srv.URL+"/groups/acme" || g.ParentID != 0 {
			t.Errorf("group %v = %+v", gid, g)
		}
	}
	g, resp, err := alice.Groups.GetGroup("acme/team", nil)
	ok(t, "subgroup", resp, err, http.StatusOK)
	if g.ID != 2 || g.Name != "Team" || g.Path != "team" || g.FullName != "acme / Team" || g.ParentID != 1 ||
		g.Visibility != gitlab.PrivateVisibility {
		t.Errorf("team = %+v", g)
	}
	_, resp, err = bob.Groups.GetGroup("acme/team", nil)
	e.notFound("private, not a member", resp, err, `{"message":"404 Group Not Found"}`)
	_, resp, err = e.client("").Groups.GetGroup(2, nil)
	e.notFound("anonymous, private", resp, err, `{"message":"404 Group Not Found"}`)
	g, resp, err = e.client("").Groups.GetGroup("acme", &gitlab.GetGroupOptions{WithProjects: new(false)})
	ok(t, "anonymous, public", resp, err, http.StatusOK)
	if g.ID != 1 {
		t.Errorf("anonymous = %+v", g)
	}
}

func TestVersionGetVersion(t *testing.T) {
	e := setup(t)
	v, resp, err := e.root.Version.GetVersion()
	ok(t, "version", resp, err, http.StatusOK)
	if v.Version != patkit.GitLabVersion || v.Revision != patkit.GitLabRevision || !strings.HasPrefix(v.Version, "19.") {
		t.Errorf("version = %+v", v)
	}
	_, readUser := e.pat(2, "alice", "read_user")
	_, resp, err = readUser.Version.GetVersion()
	ok(t, "read_user", resp, err, http.StatusOK)
	_, _, err = e.client("").Version.GetVersion()
	apiError(t, "anonymous", err, http.StatusUnauthorized, `{"message":"401 Unauthorized"}`)
}

// TestTokenCommandsResolveUsersFirst makes, with client-go (which glab is
// built on), the sequence of calls the issue describes for glab's token
// commands: resolve --user @me (GET /user) or --user NAME (GET
// /users?username=NAME), or the project (GET /projects/:id), then manage
// that user's or project's tokens. glab itself could not be installed
// here, so this is the calls, not glab.
func TestTokenCommandsResolveUsersFirst(t *testing.T) {
	e := setup(t)
	_, alice := e.pat(2, "alice", "api")

	// glab token list --user @me
	me, resp, err := alice.Users.CurrentUser()
	ok(t, "@me", resp, err, http.StatusOK)
	mine, resp, err := alice.PersonalAccessTokens.ListPersonalAccessTokens(&gitlab.ListPersonalAccessTokensOptions{UserID: &me.ID})
	ok(t, "list @me", resp, err, http.StatusOK)
	if len(mine) != 1 || mine[0].Name != "alice" || mine[0].UserID != me.ID {
		t.Errorf("alice's tokens = %v", patNames(mine))
	}

	// glab token create --user bob (an administrator)
	us, resp, err := e.root.Users.ListUsers(&gitlab.ListUsersOptions{Username: new("bob")})
	ok(t, "resolve bob", resp, err, http.StatusOK)
	if len(us) != 1 {
		t.Fatalf("bob = %+v", us)
	}
	tok, resp, err := e.root.Users.CreatePersonalAccessToken(us[0].ID, &gitlab.CreatePersonalAccessTokenOptions{
		Name: new("ci"), Scopes: &[]string{"read_api"},
	})
	ok(t, "create for bob", resp, err, http.StatusCreated)
	if tok.UserID != 3 {
		t.Errorf("created = %+v", tok)
	}

	// glab token create --repo acme/widgets
	p, resp, err := alice.Projects.GetProject("acme/widgets", nil)
	ok(t, "resolve project", resp, err, http.StatusOK)
	ptok, resp, err := alice.ProjectAccessTokens.CreateProjectAccessToken(p.ID, &gitlab.CreateProjectAccessTokenOptions{
		Name: new("deploy"), Scopes: &[]string{"read_repository"}, AccessLevel: new(gitlab.DeveloperPermissions),
	})
	ok(t, "create project token", resp, err, http.StatusCreated)
	list, resp, err := alice.ProjectAccessTokens.ListProjectAccessTokens(p.PathWithNamespace, nil)
	ok(t, "list project tokens", resp, err, http.StatusOK)
	if len(list) != 1 || list[0].ID != ptok.ID {
		t.Errorf("project tokens = %+v", list)
	}

	// glab token list --group acme
	g, resp, err := alice.Groups.GetGroup("acme", nil)
	ok(t, "resolve group", resp, err, http.StatusOK)
	gl, resp, err := alice.GroupAccessTokens.ListGroupAccessTokens(g.ID, nil)
	ok(t, "list group tokens", resp, err, http.StatusOK)
	if len(gl) != 0 {
		t.Errorf("group tokens = %+v", gl)
	}
}

package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/httpapi"
)

// User entities as GitLab's lookups render them (see the package docs):
// each level adds fields to the one before.
const (
	levelBasic = iota
	levelUser
	levelPublic
	levelWithAdmin
	levelDetails
)

func userJSON(id int64, username, name string, level int, flags ...string) string {
	has := func(f string) bool { return strings.Contains(strings.Join(flags, ","), f) }
	state := "active"
	if has("blocked") {
		state = "blocked"
	}
	s := fmt.Sprintf(`{"id":%d,"username":%q,"public_email":null,"name":%q,"state":%q,"locked":false,"avatar_url":null,"web_url":"https://gitlab.example.com/%s"`,
		id, username, name, state, username)
	if level >= levelUser {
		s += fmt.Sprintf(`,"created_at":null,"bio":"","location":"","skype":"","linkedin":"","twitter":"","discord":"","website_url":"","organization":"","job_title":"","pronouns":null,"bot":%t,"work_information":null,"followers":0,"following":0,"is_followed":false,"local_time":null`, has("bot"))
	}
	if level >= levelPublic {
		s += `,"last_sign_in_at":null,"confirmed_at":null,"last_activity_on":null,"email":null,"theme_id":null,"color_scheme_id":null,"projects_limit":null,"current_sign_in_at":null,"identities":[],"can_create_group":null,"can_create_project":null,"two_factor_enabled":false,"external":false,"private_profile":false,"commit_email":null,"preferred_language":null`
	}
	if level >= levelWithAdmin {
		s += fmt.Sprintf(`,"is_admin":%t,"note":null,"namespace_id":null,"created_by":null,"email_reset_offered_at":null`, has("admin"))
	}
	if level >= levelDetails {
		s += `,"highest_role":0,"current_sign_in_ip":null,"last_sign_in_ip":null,"sign_in_count":0`
	}
	return s + "}"
}

const (
	namespaceAcme = `{"id":1,"name":"acme","path":"acme","kind":"group","full_path":"acme","parent_id":null,"avatar_url":null,"web_url":"https://gitlab.example.com/groups/acme"}`
	projectBase   = `"id":1,"description":null,"name":"widgets","name_with_namespace":"acme / widgets","path":"widgets","path_with_namespace":"acme/widgets","created_at":null,"tag_list":[],"topics":[],"ssh_url_to_repo":null,"http_url_to_repo":null,"web_url":"https://gitlab.example.com/acme/widgets","avatar_url":null,"star_count":0,"last_activity_at":null,"namespace":` + namespaceAcme + `,"visibility":"public"`
	groupSettings = `"share_with_group_lock":false,"require_two_factor_authentication":false,"two_factor_grace_period":48,"project_creation_level":"developer","auto_devops_enabled":null,"subgroup_creation_level":"maintainer","emails_disabled":false,"emails_enabled":true,"mentions_disabled":null,"lfs_enabled":true,"math_rendering_limits_enabled":true,"lock_math_rendering_limits_enabled":false,"default_branch":null,"default_branch_protection":2,"default_branch_protection_defaults":{"allowed_to_push":[{"access_level":40}],"allow_force_push":false,"allowed_to_merge":[{"access_level":40}],"developer_can_initial_push":false},"avatar_url":null,"request_access_enabled":true`
)

func projectJSON(projectAccess, groupAccess string) string {
	if projectAccess == "" {
		return "{" + projectBase + "}"
	}
	return "{" + projectBase + `,"permissions":{"project_access":` + projectAccess + `,"group_access":` + groupAccess + `}}`
}

func access(level int) string {
	return fmt.Sprintf(`{"access_level":%d,"notification_level":3}`, level)
}

func groupJSON(id int64, path, name, fullName, visibility, parent, created string) string {
	return fmt.Sprintf(`{"id":%d,"web_url":"https://gitlab.example.com/groups/%s","name":%q,"path":%q,"description":null,"visibility":%q,`, id, path, name, path[strings.LastIndex(path, "/")+1:], visibility) +
		groupSettings + fmt.Sprintf(`,"full_name":%q,"full_path":%q,"created_at":%s,"parent_id":%s,"organization_id":1,"shared_runners_setting":"enabled","max_artifacts_size":null,"archived":false,"marked_for_deletion_on":null}`, fullName, path, created, parent)
}

const (
	body403Users   = `{"message":"403 Forbidden - Not authorized to access /api/v4/users"}`
	body403User    = `{"message":"403 Forbidden - Not authorized!"}`
	body403Blocked = `{"message":"403 Forbidden - Your account has been blocked."}`
	body404User    = `{"message":"404 User Not Found"}`
	body404Proj    = `{"message":"404 Project Not Found"}`
	body404Group   = `{"message":"404 Group Not Found"}`
	scopeUser      = `{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"read_user api read_api"}`
	scopeResource  = `{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"api read_api"}`
)

// identityEnv adds a private project and a subgroup alice belongs to, and
// a project in alice's personal namespace, and returns tokens of every
// kind of caller.
type identityTokens struct {
	root, rootNoAdminMode, rootSudo, alice, aliceAPI, bob, bobRepo, imp, bot, groupBot, blocked string
}

func identityEnv(t *testing.T, opts ...envOption) (*env, identityTokens) {
	e := newEnv(t, opts...)
	e.dir.AddResource(patkit.Resource{Type: patkit.ResourceProject, ID: 2, FullPath: "acme/secret"})
	e.dir.AddResource(patkit.Resource{Type: patkit.ResourceGroup, ID: 2, FullPath: "acme/team", Name: "Team",
		Description: "", CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 600e6, time.UTC)})
	e.dir.AddResource(patkit.Resource{Type: patkit.ResourceProject, ID: 3, FullPath: "alice/notes", Name: "Notes", Description: "mine"})
	e.dir.SetAccess(patkit.ResourceProject, 2, aliceID, patkit.Developer)
	e.dir.SetAccess(patkit.ResourceGroup, 2, aliceID, patkit.Maintainer)
	e.dir.SetAccess(patkit.ResourceProject, 3, aliceID, patkit.Owner)
	// Tokens are made through a Service without admin mode, on the same
	// store and directory.
	svc := e.svc
	maker, err := patkit.New(e.store, e.dir, []byte(strings.Repeat("k", 32)), &patkit.Options{Now: func() time.Time { return *e.clock }})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = maker
	defer func() { e.svc = svc }()
	var k identityTokens
	k.root, _ = e.token(rootID, "root", patkit.ScopeAPI, patkit.ScopeAdminMode)
	k.rootNoAdminMode, _ = e.token(rootID, "root-ro", patkit.ScopeReadUser)
	k.rootSudo, _ = e.token(rootID, "root-sudo", patkit.ScopeSudo, patkit.ScopeAdminMode)
	k.alice, _ = e.token(aliceID, "alice", patkit.ScopeReadUser)
	k.aliceAPI, _ = e.token(aliceID, "alice-api", patkit.ScopeReadAPI)
	k.bob, _ = e.token(bobID, "bob", patkit.ScopeAPI)
	k.bobRepo, _ = e.token(bobID, "bob-repo", patkit.ScopeReadRepository)
	k.imp, _ = e.impersonationToken(bobID, "imp", patkit.ScopeReadUser, patkit.ScopeReadAPI)
	k.bot, _ = e.resourceToken(patkit.ResourceProject, "deploy", patkit.Developer, patkit.ScopeReadAPI) // user 6
	k.groupBot, _ = e.resourceToken(patkit.ResourceGroup, "gbot", patkit.Reporter, patkit.ScopeAPI)     // user 7
	// carol's token, made before she was blocked, cannot authenticate.
	e.dir.AddUser(patkit.User{ID: carolID, Username: "carol", Name: "Carol"})
	k.blocked, _ = e.token(carolID, "carol", patkit.ScopeAPI)
	e.dir.AddUser(patkit.User{ID: carolID, Username: "carol", Name: "Carol", Blocked: true})
	return e, k
}

func botName(t *testing.T, e *env, id int64) string {
	t.Helper()
	u, err := e.dir.UserByID(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}

func TestCurrentUser(t *testing.T) {
	e, k := identityEnv(t, func(po *patkit.Options, _ *httpapi.Options) { po.AdminMode = true })
	bot := botName(t, e, 6)
	tests := []struct {
		name string
		r    req
		code int
		body string
	}{
		{"anonymous", req{}, 401, body401},
		{"user, read_user", req{token: k.alice}, 200, userJSON(aliceID, "alice", "Alice", levelPublic)},
		{"user, read_api", req{token: k.aliceAPI}, 200, userJSON(aliceID, "alice", "Alice", levelPublic)},
		{"admin flag without admin mode still shows admin fields", req{token: k.rootNoAdminMode}, 200, userJSON(rootID, "root", "Administrator", levelWithAdmin, "admin")},
		{"admin, api", req{token: k.root}, 200, userJSON(rootID, "root", "Administrator", levelWithAdmin, "admin")},
		{"impersonation: the impersonated user", req{token: k.imp}, 200, userJSON(bobID, "bob", "Bob", levelPublic)},
		{"project bot", req{token: k.bot}, 200, userJSON(6, bot, "deploy", levelPublic, "bot")},
		{"insufficient scope", req{token: k.bobRepo}, 403, scopeUser},
		{"sudo as alice", req{token: k.rootSudo, header: http.Header{"Sudo": {"alice"}}}, 200, userJSON(aliceID, "alice", "Alice", levelPublic)},
		{"sudo as dave, an admin", req{token: k.rootSudo, header: http.Header{"Sudo": {"5"}}}, 200, userJSON(daveID, "dave", "Dave", levelWithAdmin, "admin")},
		{"blocked user's token", req{token: k.blocked}, 403, body403Blocked},
		{"bad token", req{token: "glpat-nope"}, 401, body401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.r.method, tt.r.path = "GET", "/api/v4/user"
			e.do(tt.r).check(t, tt.code, tt.body)
		})
	}

	// GitLab's field order.
	r := e.do(req{method: "GET", path: "/api/v4/user", token: k.root})
	want := userJSON(rootID, "root", "Administrator", levelWithAdmin, "admin")
	if r.body != want {
		t.Errorf("field order:\n got %s\nwant %s", r.body, want)
	}
	// Only GET (and HEAD) is routed.
	e.do(req{method: "POST", path: "/api/v4/user", token: k.root}).check(t, 404, body404)
}

func TestListUsers(t *testing.T) {
	e, k := identityEnv(t)
	bot := botName(t, e, 6)
	alice := userJSON(aliceID, "alice", "Alice", levelBasic)
	tests := []struct {
		name string
		r    req
		code int
		body string
	}{
		{"anonymous by username", req{path: "?username=alice"}, 200, "[" + alice + "]"},
		{"anonymous, case-insensitive", req{path: "?username=ALICE"}, 200, "[" + alice + "]"},
		{"anonymous, unknown", req{path: "?username=nobody"}, 200, "[]"},
		{"anonymous, no prefix match", req{path: "?username=ali"}, 200, "[]"},
		{"anonymous without username", req{}, 403, body403Users},
		{"anonymous, empty username", req{path: "?username="}, 403, body403Users},
		{"anonymous, blank username", req{path: "?username=%20%20"}, 403, body403Users},
		{"anonymous, search", req{path: "?search=alice"}, 403, body403Users},
		{"repeated username: a list (see the package docs)", req{path: "?username=bob&username=alice", token: k.alice}, 400, `{"error":"username is invalid"}`},
		{"username list", req{path: "?username[]=alice", token: k.alice}, 400, `{"error":"username is invalid"}`},
		{"user by username", req{path: "?username=bob", token: k.alice}, 200, "[" + userJSON(bobID, "bob", "Bob", levelBasic) + "]"},
		{"blocked users are listed", req{path: "?username=carol", token: k.alice}, 200, "[" + userJSON(carolID, "carol", "Carol", levelBasic, "blocked") + "]"},
		{"active filter", req{path: "?username=carol&active=true", token: k.alice}, 200, "[]"},
		{"blocked filter", req{path: "?username=carol&blocked=true", token: k.alice}, 200, "[" + userJSON(carolID, "carol", "Carol", levelBasic, "blocked") + "]"},
		{"bot by username", req{path: "?username=" + bot, token: k.alice}, 200, "[" + userJSON(6, bot, "deploy", levelBasic) + "]"},
		{"without project bots", req{path: "?username=" + bot + "&without_project_bots=true", token: k.alice}, 200, "[]"},
		{"admin gets admin fields", req{path: "?username=alice", token: k.root}, 200, "[" + userJSON(aliceID, "alice", "Alice", levelWithAdmin) + "]"},
		{"impersonation", req{path: "?username=alice", token: k.imp}, 200, "[" + alice + "]"},
		{"project bot", req{path: "?username=alice", token: k.bot}, 200, "[" + alice + "]"},
		{"insufficient scope", req{path: "?username=alice", token: k.bobRepo}, 403, scopeUser},
		{"search", req{path: "?search=AL&per_page=5", token: k.bob}, 200, "[" + alice + "]"},
		{"search matches names", req{path: "?search=administ", token: k.bob}, 200, "[" + userJSON(rootID, "root", "Administrator", levelBasic) + "]"},
		{"list, newest first, paged", req{path: "?per_page=2&page=2", token: k.bob}, 200, "[" + userJSON(5, "dave", "Dave", levelBasic) + "," + userJSON(carolID, "carol", "Carol", levelBasic, "blocked") + "]"},
		{"admins filter is for admins", req{path: "?admins=true&per_page=2", token: k.root}, 200, "[" + userJSON(daveID, "dave", "Dave", levelWithAdmin, "admin") + "," + userJSON(rootID, "root", "Administrator", levelWithAdmin, "admin") + "]"},
		{"admins filter ignored for others", req{path: "?admins=true&per_page=1", token: k.bob}, 200, "[" + userJSON(7, botName(t, e, 7), "gbot", levelBasic) + "]"},
		{"bad boolean", req{path: "?active=maybe", token: k.bob}, 400, `{"error":"active is invalid"}`},
		{"bad order_by", req{path: "?order_by=email", token: k.bob}, 400, `{"error":"order_by does not have a valid value"}`},
		{"bad sort and per_page", req{path: "?sort=up&per_page=0", token: k.bob}, 400, `{"error":"sort does not have a valid value, per_page has a value not allowed"}`},
		{"extern_uid alone", req{path: "?extern_uid=1", token: k.root}, 400, `{"error":"extern_uid, provider provide all or none of parameters"}`},
		{"identity lookup, not admin", req{path: "?extern_uid=1&provider=ldap", token: k.bob}, 403, `{"message":"403 Forbidden"}`},
		{"identity lookup, admin: none known", req{path: "?extern_uid=1&provider=ldap", token: k.root}, 200, "[]"},
		{"page beyond", req{path: "?username=alice&page=2", token: k.bob}, 200, "[]"},
		{"huge page", req{path: "?search=a&page=99999999999999999999", token: k.bob}, 400, `{"error":"page is invalid"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.r.method, tt.r.path = "GET", "/api/v4/users"+tt.r.path
			e.do(tt.r).check(t, tt.code, tt.body)
		})
	}

	r := e.do(req{method: "GET", path: "/api/v4/users?per_page=2&page=2", token: k.bob})
	for h, want := range map[string]string{
		"X-Total": "7", "X-Total-Pages": "4", "X-Page": "2", "X-Per-Page": "2", "X-Next-Page": "3", "X-Prev-Page": "1",
		"Link": `<https://gitlab.example.com/api/v4/users?page=1&per_page=2>; rel="prev", <https://gitlab.example.com/api/v4/users?page=3&per_page=2>; rel="next", <https://gitlab.example.com/api/v4/users?page=1&per_page=2>; rel="first", <https://gitlab.example.com/api/v4/users?page=4&per_page=2>; rel="last"`,
	} {
		if got := r.header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
}

// TestListUsersWithoutSearcher runs on a Directory with no optional
// ability: no user search, no projects and groups.
func TestListUsersWithoutSearcher(t *testing.T) {
	e := newEnv(t)
	svc, err := patkit.New(e.store, struct{ patkit.Directory }{e.dir}, []byte(strings.Repeat("k", 32)), &patkit.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	e.api = httpapi.New(svc, &httpapi.Options{ExternalURL: "https://gitlab.example.com", Logger: newJSONLogger(e.logs)})
	e.h = conform(t, e.api)
	e.svc = svc
	tok, _ := e.token(bobID, "bob", patkit.ScopeReadUser)
	alice := userJSON(aliceID, "alice", "Alice", levelBasic)
	for _, tt := range []struct {
		path string
		body string
	}{
		{"?search=ALICE", "[" + alice + "]"}, // the exact username only
		{"?search=ali", "[]"},
		{"", "[]"},
		{"?username=alice", "[" + alice + "]"},
	} {
		e.do(req{method: "GET", path: "/api/v4/users" + tt.path, token: tok}).check(t, 200, tt.body)
	}
	// Nor are there projects and groups: 404, never 500.
	apiTok, _ := e.token(bobID, "bob-api", patkit.ScopeAPI)
	e.do(req{method: "GET", path: "/api/v4/projects/1", token: apiTok}).check(t, 404, body404Proj)
	e.do(req{method: "GET", path: "/api/v4/groups/acme"}).check(t, 404, body404Group)
	e.do(req{method: "GET", path: "/api/v4/personal_access_tokens/self/associations", token: apiTok}).check(t, 200, `{"groups":[],"projects":[]}`)
}

func TestGetUser(t *testing.T) {
	e, k := identityEnv(t, func(po *patkit.Options, _ *httpapi.Options) { po.AdminMode = true })
	bot := botName(t, e, 6)
	tests := []struct {
		name, path string
		token      string
		code       int
		body       string
	}{
		{"anonymous", "2", "", 403, body403User},
		{"anonymous, unknown", "99", "", 403, body403User},
		{"anonymous, huge", "99999999999999999999", "", 403, body403User},
		{"user", "3", k.alice, 200, userJSON(bobID, "bob", "Bob", levelUser)},
		{"self", "2", k.alice, 200, userJSON(aliceID, "alice", "Alice", levelUser)},
		{"admin user without admin mode: not an admin here", "2", k.rootNoAdminMode, 200, userJSON(aliceID, "alice", "Alice", levelUser)},
		{"blocked user", "4", k.alice, 200, userJSON(carolID, "carol", "Carol", levelUser, "blocked")},
		{"bot", "6", k.alice, 200, userJSON(6, bot, "deploy", levelUser, "bot")},
		{"impersonation", "2", k.imp, 200, userJSON(aliceID, "alice", "Alice", levelUser)},
		{"by a bot", "2", k.bot, 200, userJSON(aliceID, "alice", "Alice", levelUser)},
		{"insufficient scope", "2", k.bobRepo, 403, scopeUser},
		{"unknown", "99", k.alice, 404, body404User},
		{"zero", "0", k.alice, 404, body404User},
		{"huge", "99999999999999999999", k.alice, 404, body404User},
		{"leading zeros", "0002", k.alice, 200, userJSON(aliceID, "alice", "Alice", levelUser)},
		{"not a number: no route", "alice", k.alice, 404, body404},
		{"negative: no route", "-2", k.alice, 404, body404},
		{"not a number, anonymous", "abc", "", 404, body404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.do(req{method: "GET", path: "/api/v4/users/" + tt.path, token: tt.token}).check(t, tt.code, tt.body)
		})
	}

	// An administrator in admin mode sees UserDetailsWithAdmin.
	e2, k2 := identityEnv(t)
	e2.do(req{method: "GET", path: "/api/v4/users/1", token: k2.root}).check(t, 200, userJSON(rootID, "root", "Administrator", levelDetails, "admin"))
	e2.do(req{method: "GET", path: "/api/v4/users/2", token: k2.root}).check(t, 200, userJSON(aliceID, "alice", "Alice", levelDetails))
}

func TestGetProject(t *testing.T) {
	e, k := identityEnv(t)
	secret := `{"id":2,"description":null,"name":"secret","name_with_namespace":"acme / secret","path":"secret","path_with_namespace":"acme/secret","created_at":null,"tag_list":[],"topics":[],"ssh_url_to_repo":null,"http_url_to_repo":null,"web_url":"https://gitlab.example.com/acme/secret","avatar_url":null,"star_count":0,"last_activity_at":null,"namespace":` + namespaceAcme + `,"visibility":"private","permissions":{"project_access":%s,"group_access":%s}}`
	notes := `{"id":3,"description":"mine","name":"Notes","name_with_namespace":"Alice / Notes","path":"notes","path_with_namespace":"alice/notes","created_at":null,"tag_list":[],"topics":[],"ssh_url_to_repo":null,"http_url_to_repo":null,"web_url":"https://gitlab.example.com/alice/notes","avatar_url":null,"star_count":0,"last_activity_at":null,"namespace":{"id":2,"name":"Alice","path":"alice","kind":"user","full_path":"alice","parent_id":null,"avatar_url":null,"web_url":"https://gitlab.example.com/alice"},"visibility":"private","permissions":{"project_access":` + access(50) + `,"group_access":null}}`
	tests := []struct {
		name, ref, token string
		code             int
		body             string
	}{
		{"anonymous, public, by ID", "1", "", 200, projectJSON("", "")},
		{"anonymous, public, by path", "acme%2Fwidgets", "", 200, projectJSON("", "")},
		{"anonymous, case-insensitive path", "ACME%2FWidgets", "", 200, projectJSON("", "")},
		{"anonymous, private", "2", "", 404, body404Proj},
		{"anonymous, unknown", "99", "", 404, body404Proj},
		{"member", "1", k.aliceAPI, 200, projectJSON(access(40), access(50))},
		{"member of the project only", "acme%2Fsecret", k.aliceAPI, 200, fmt.Sprintf(secret, access(30), access(50))},
		{"personal namespace", "alice%2Fnotes", k.aliceAPI, 200, notes},
		{"impersonation: the user's levels", "1", k.imp, 200, projectJSON(access(30), access(20))},
		{"member, api", "acme%2Fwidgets", k.bob, 200, projectJSON(access(30), access(20))},
		{"not visible", "2", k.bob, 404, body404Proj},
		{"not visible by path", "acme%2Fsecret", k.bob, 404, body404Proj},
		{"admin sees private", "2", k.root, 200, fmt.Sprintf(secret, "null", "null")},
		{"project bot", "1", k.bot, 200, projectJSON(access(30), "null")},
		{"project bot, another project", "2", k.bot, 404, body404Proj},
		{"read_user is not enough", "1", k.alice, 403, scopeResource},
		{"read_repository is not enough", "1", k.bobRepo, 403, scopeResource},
		{"unknown path", "acme%2Fnope", k.bob, 404, body404Proj},
		{"huge ID", "99999999999999999999", k.bob, 404, body404Proj},
		{"negative ID", "-1", k.bob, 404, body404Proj},
		{"a group's path", "acme", k.bob, 404, body404Proj},
		{"bad boolean", "1?statistics=perhaps", k.bob, 400, `{"error":"statistics is invalid"}`},
		{"blocked user's token", "1", k.blocked, 403, body403Blocked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.do(req{method: "GET", path: "/api/v4/projects/" + tt.ref, token: tt.token}).check(t, tt.code, tt.body)
		})
	}
}

func TestGetGroup(t *testing.T) {
	e, k := identityEnv(t)
	acme := groupJSON(1, "acme", "acme", "acme", "public", "null", "null")
	team := groupJSON(2, "acme/team", "Team", "acme / Team", "private", "1", `"2025-01-02T03:04:05.600Z"`)
	tests := []struct {
		name, ref, token string
		code             int
		body             string
	}{
		{"anonymous, public", "1", "", 200, acme},
		{"anonymous, by path", "acme", "", 200, acme},
		{"anonymous, private", "acme%2Fteam", "", 404, body404Group},
		{"member, subgroup", "acme%2Fteam", k.aliceAPI, 200, team},
		{"member, by ID", "2", k.aliceAPI, 200, team},
		{"not visible", "2", k.bob, 404, body404Group},
		{"admin", "2", k.root, 200, team},
		{"group bot", "1", k.groupBot, 200, acme},
		{"unknown", "nope", k.bob, 404, body404Group},
		{"huge ID", "99999999999999999999", k.bob, 404, body404Group},
		{"read_user is not enough", "1", k.alice, 403, scopeResource},
		{"bad with_projects", "1?with_projects=x", k.bob, 400, `{"error":"with_projects is invalid"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.do(req{method: "GET", path: "/api/v4/groups/" + tt.ref, token: tt.token}).check(t, tt.code, tt.body)
		})
	}
}

func TestVersion(t *testing.T) {
	e, k := identityEnv(t)
	want := fmt.Sprintf(`{"version":%q,"revision":%q,"patkit":%q}`, patkit.GitLabVersion, patkit.GitLabRevision, patkit.Version())
	for _, tt := range []struct {
		name, token string
		code        int
		body        string
	}{
		{"anonymous", "", 401, body401},
		{"read_user", k.alice, 200, want},
		{"read_api", k.aliceAPI, 200, want},
		{"api, bot", k.groupBot, 200, want},
		{"impersonation", k.imp, 200, want},
		{"read_repository", k.bobRepo, 403, scopeUser},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.do(req{method: "GET", path: "/api/v4/version", token: tt.token}).check(t, tt.code, tt.body)
		})
	}
}

func TestAssociations(t *testing.T) {
	e, k := identityEnv(t)
	acmeAssoc := `{"id":1,"web_url":"https://gitlab.example.com/groups/acme","name":"acme","parent_id":null,"organization_id":1,"access_levels":%d,"visibility":"public"}`
	teamAssoc := `{"id":2,"web_url":"https://gitlab.example.com/groups/acme/team","name":"Team","parent_id":1,"organization_id":1,"access_levels":40,"visibility":"private"}`
	widgets := `{"id":1,"description":null,"name":"widgets","name_with_namespace":"acme / widgets","path":"widgets","path_with_namespace":"acme/widgets","created_at":null,"access_levels":{"project_access_level":%d,"group_access_level":%s},"visibility":"public","web_url":"https://gitlab.example.com/acme/widgets","namespace":` + namespaceAcme + `}`
	secret := `{"id":2,"description":null,"name":"secret","name_with_namespace":"acme / secret","path":"secret","path_with_namespace":"acme/secret","created_at":null,"access_levels":{"project_access_level":30,"group_access_level":50},"visibility":"private","web_url":"https://gitlab.example.com/acme/secret","namespace":` + namespaceAcme + `}`
	notes := `{"id":3,"description":"mine","name":"Notes","name_with_namespace":"Alice / Notes","path":"notes","path_with_namespace":"alice/notes","created_at":null,"access_levels":{"project_access_level":50,"group_access_level":null},"visibility":"private","web_url":"https://gitlab.example.com/alice/notes","namespace":{"id":2,"name":"Alice","path":"alice","kind":"user","full_path":"alice","parent_id":null,"avatar_url":null,"web_url":"https://gitlab.example.com/alice"}}`
	const path = "/api/v4/personal_access_tokens/self/associations"
	tests := []struct {
		name, query, token string
		code               int
		body               string
	}{
		{"anonymous", "", "", 401, body401},
		{"alice, any scope", "", k.alice, 200, `{"groups":[` + fmt.Sprintf(acmeAssoc, 50) + "," + teamAssoc + `],"projects":[` + fmt.Sprintf(widgets, 40, "50") + "," + secret + "," + notes + `]}`},
		{"min_access_level", "?min_access_level=50", k.alice, 200, `{"groups":[` + fmt.Sprintf(acmeAssoc, 50) + `],"projects":[` + notes + `]}`},
		{"paged", "?per_page=1&page=2", k.alice, 200, `{"groups":[` + teamAssoc + `],"projects":[` + secret + `]}`},
		{"bob", "", k.bobRepo, 200, `{"groups":[` + fmt.Sprintf(acmeAssoc, 20) + `],"projects":[` + fmt.Sprintf(widgets, 30, "20") + `]}`},
		{"impersonation: the user's", "", k.imp, 200, `{"groups":[` + fmt.Sprintf(acmeAssoc, 20) + `],"projects":[` + fmt.Sprintf(widgets, 30, "20") + `]}`},
		{"project bot", "", k.bot, 200, `{"groups":[],"projects":[` + fmt.Sprintf(widgets, 30, "null") + `]}`},
		{"admin without memberships", "", k.root, 200, `{"groups":[],"projects":[]}`},
		{"bad level", "?min_access_level=35", k.alice, 400, `{"error":"min_access_level does not have a valid value"}`},
		{"not a level", "?min_access_level=x", k.alice, 400, `{"error":"min_access_level is invalid"}`},
		{"huge level", "?min_access_level=99999999999999999999", k.alice, 400, `{"error":"min_access_level is invalid"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.do(req{method: "GET", path: path + tt.query, token: tt.token}).check(t, tt.code, tt.body)
		})
	}
	// The headers describe the projects.
	r := e.do(req{method: "GET", path: path + "?per_page=1", token: k.alice})
	if r.header.Get("X-Total") != "3" || r.header.Get("X-Next-Page") != "2" {
		t.Errorf("headers %v", r.header)
	}
	// A session, not a token: GitLab's 400 for a credential that is not
	// an access token is unreachable over HTTP; the Service answers it.
	_, err := e.svc.Associations(t.Context(), e.principal(aliceID), 0, 1, 20)
	if err == nil || !strings.Contains(err.Error(), "requires token type") {
		t.Errorf("session: %v", err)
	}
}

// TestIdentityNever5xx sends odd input to every lookup.
func TestIdentityNever5xx(t *testing.T) {
	e, k := identityEnv(t)
	paths := []string{
		"/api/v4/user", "/api/v4/users", "/api/v4/users/", "/api/v4/users/%00", "/api/v4/users/1%2F2",
		"/api/v4/users?username=%ff", "/api/v4/users?username[a]=b", "/api/v4/users?search=" + strings.Repeat("a", 5000),
		"/api/v4/users?username=" + strings.Repeat("x", 10000), "/api/v4/users?page=-1&per_page=-5",
		"/api/v4/users/18446744073709551616", "/api/v4/projects/%2F", "/api/v4/projects/a%2F%2Fb", "/api/v4/projects/" + strings.Repeat("a%2F", 500),
		"/api/v4/groups/%2E%2E", "/api/v4/groups/0", "/api/v4/version?x=1",
		"/api/v4/personal_access_tokens/self/associations?page=99999999&per_page=100",
	}
	for _, p := range paths {
		for _, tok := range []string{"", k.root, k.bob, k.bot} {
			r := e.do(req{method: "GET", path: p, token: tok})
			if r.code >= 500 {
				t.Errorf("GET %s: %d %s", p, r.code, r.body)
			}
		}
	}
}

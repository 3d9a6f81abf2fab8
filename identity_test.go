package patkit_test

import (
	"context"
	"errors"
	"testing"

	"github.com/patkit/patkit"
)

func usernames(us []*patkit.User) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.Username)
	}
	return out
}

func TestServiceCurrentUser(t *testing.T) {
	w := newWorld(t, nil)
	_, err := w.svc.CurrentUser(nil)
	wantErr(t, err, patkit.ErrUnauthorized, "")
	_, err = w.svc.CurrentUser(&patkit.Principal{})
	wantErr(t, err, patkit.ErrUnauthorized, "")

	v, err := w.svc.CurrentUser(w.alice)
	wantErr(t, err, nil, "")
	if v.Username != "alice" || v.AdminFields {
		t.Errorf("alice: %+v", v)
	}
	v, _ = w.svc.CurrentUser(w.root)
	if !v.AdminFields {
		t.Error("root: no admin fields")
	}

	// The admin flag, not admin mode, decides: root's token without
	// admin_mode does not act as an administrator but sees its fields.
	wm := newWorld(t, &patkit.Options{AdminMode: true})
	_, secret := wm.pat(t, 1, patkit.ScopeReadUser)
	p := wm.login(t, secret)
	if p.Admin() {
		t.Fatal("acts as admin without admin_mode")
	}
	v, _ = wm.svc.CurrentUser(p)
	if !v.AdminFields {
		t.Error("admin flag ignored")
	}

	// An impersonation token is its user.
	tok, secret, err := w.svc.CreateImpersonationToken(t.Context(), w.root, 3, patkit.TokenOptions{Name: "i", Scopes: []patkit.Scope{patkit.ScopeReadUser}, ExpiresAt: t0.AddDate(0, 1, 0)})
	wantErr(t, err, nil, "")
	v, _ = w.svc.CurrentUser(w.login(t, secret))
	if v.ID != 3 || tok.UserID != 3 {
		t.Errorf("impersonation: %+v", v)
	}
}

func TestServiceUser(t *testing.T) {
	w := newWorld(t, nil)
	ctx := t.Context()
	_, err := w.svc.User(ctx, nil, 2)
	wantErr(t, err, patkit.ErrForbidden, "Not authorized!")
	_, err = w.svc.User(ctx, w.bob, 99)
	wantErr(t, err, patkit.ErrNotFound, "User Not Found")
	_, err = w.svc.User(ctx, w.bob, -1)
	wantErr(t, err, patkit.ErrNotFound, "User Not Found")
	v, err := w.svc.User(ctx, w.bob, 4)
	wantErr(t, err, nil, "")
	if !v.Blocked || v.AdminFields {
		t.Errorf("carol as bob sees her: %+v", v)
	}
	v, _ = w.svc.User(ctx, w.root, 2)
	if !v.AdminFields {
		t.Error("root: no admin fields")
	}

	// A bot the Service manages is a user too.
	tok, _, err := w.svc.CreateResourceToken(ctx, w.alice, patkit.ResourceProject, "1", patkit.TokenOptions{Name: "deploy", Scopes: []patkit.Scope{patkit.ScopeReadAPI}})
	wantErr(t, err, nil, "")
	v, err = w.svc.User(ctx, w.bob, tok.UserID)
	wantErr(t, err, nil, "")
	if !v.Bot || v.Name != "deploy" {
		t.Errorf("bot: %+v", v)
	}
	pg, err := w.svc.Users(ctx, nil, patkit.UserQuery{Username: v.Username})
	wantErr(t, err, nil, "")
	if len(pg.Users) != 1 || pg.Users[0].ID != tok.UserID {
		t.Errorf("bot by username: %v", usernames(pg.Users))
	}
}

func TestServiceUsers(t *testing.T) {
	w := newWorld(t, nil)
	ctx := t.Context()
	for _, tt := range []struct {
		name  string
		p     *patkit.Principal
		q     patkit.UserQuery
		want  []string
		total int
		err   error
		msg   string
	}{
		{"anonymous by username", nil, patkit.UserQuery{Username: "ALICE"}, []string{"alice"}, 1, nil, ""},
		{"anonymous unknown", nil, patkit.UserQuery{Username: "zed"}, nil, 0, nil, ""},
		{"anonymous list", nil, patkit.UserQuery{}, nil, 0, patkit.ErrForbidden, "Not authorized to access /api/v4/users"},
		{"anonymous blank username", &patkit.Principal{}, patkit.UserQuery{Username: " "}, nil, 0, patkit.ErrForbidden, "Not authorized to access /api/v4/users"},
		{"anonymous search", nil, patkit.UserQuery{Search: "a"}, nil, 0, patkit.ErrForbidden, "Not authorized to access /api/v4/users"},
		{"list, newest first", w.bob, patkit.UserQuery{}, []string{"carol", "bob", "alice", "root"}, 4, nil, ""},
		{"page", w.bob, patkit.UserQuery{Page: 2, PerPage: 3}, []string{"root"}, 4, nil, ""},
		{"search", w.bob, patkit.UserQuery{Search: "O"}, []string{"carol", "bob", "root"}, 3, nil, ""},
		{"search and active", w.bob, patkit.UserQuery{Search: "o", Active: true}, []string{"bob", "root"}, 2, nil, ""},
		{"blocked", w.bob, patkit.UserQuery{Blocked: true}, []string{"carol"}, 1, nil, ""},
		{"admins: ignored for others", w.bob, patkit.UserQuery{Admins: true, PerPage: 1}, []string{"carol"}, 4, nil, ""},
		{"admins", w.root, patkit.UserQuery{Admins: true}, []string{"root"}, 1, nil, ""},
		{"username and search both apply", w.bob, patkit.UserQuery{Username: "alice", Search: "bob"}, nil, 0, nil, ""},
		{"username beyond page 1", w.bob, patkit.UserQuery{Username: "alice", Page: 2}, nil, 1, nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pg, err := w.svc.Users(ctx, tt.p, tt.q)
			wantErr(t, err, tt.err, tt.msg)
			if err != nil {
				return
			}
			if got := usernames(pg.Users); !equalStrings(got, tt.want) || pg.Total != tt.total {
				t.Errorf("got %v (total %d), want %v (total %d)", got, pg.Total, tt.want, tt.total)
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// plainDirectory has users only: no optional ability.
type plainDirectory struct{ patkit.Directory }

func TestServiceLookupsWithoutAbilities(t *testing.T) {
	w := newWorld(t, nil)
	svc, err := patkit.New(w.store, plainDirectory{w.dir}, testKey, &patkit.Options{Now: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	pg, err := svc.Users(ctx, w.bob, patkit.UserQuery{Search: "ALICE"})
	wantErr(t, err, nil, "")
	if got := usernames(pg.Users); !equalStrings(got, []string{"alice"}) {
		t.Errorf("search without a searcher: %v", got)
	}
	pg, _ = svc.Users(ctx, w.bob, patkit.UserQuery{Search: "ali"})
	if len(pg.Users) != 0 {
		t.Errorf("partial search without a searcher: %v", usernames(pg.Users))
	}
	pg, _ = svc.Users(ctx, w.bob, patkit.UserQuery{})
	if len(pg.Users) != 0 || pg.Total != 0 {
		t.Errorf("list without a searcher: %v", usernames(pg.Users))
	}
	_, err = svc.Resource(ctx, w.bob, patkit.ResourceProject, "1")
	wantErr(t, err, patkit.ErrNotFound, "Project Not Found")
	_, err = svc.Resource(ctx, nil, patkit.ResourceGroup, "acme")
	wantErr(t, err, patkit.ErrNotFound, "Group Not Found")

	_, secret := w.pat(t, 3)
	a, err := svc.Associations(ctx, w.login(t, secret), 0, 1, 20)
	wantErr(t, err, nil, "")
	if len(a.Groups)+len(a.Projects) != 0 {
		t.Errorf("associations without memberships: %+v", a)
	}
}

func TestServiceResource(t *testing.T) {
	w := newWorld(t, nil)
	ctx := t.Context()
	w.dir.AddResource(patkit.Resource{Type: patkit.ResourceGroup, ID: 2, FullPath: "acme/team", Name: "Team"})
	w.dir.AddResource(patkit.Resource{Type: patkit.ResourceProject, ID: 3, FullPath: "acme/team/app", Name: "App"})
	w.dir.AddResource(patkit.Resource{Type: patkit.ResourceProject, ID: 4, FullPath: "bob/dotfiles"})
	w.dir.AddResource(patkit.Resource{Type: patkit.ResourceProject, ID: 5, FullPath: "ghost/x", Public: true})
	w.dir.SetAccess(patkit.ResourceGroup, 2, 2, patkit.Developer)
	w.dir.SetAccess(patkit.ResourceProject, 3, 2, patkit.Maintainer)
	w.dir.SetAccess(patkit.ResourceProject, 4, 3, patkit.Owner)

	v, err := w.svc.Resource(ctx, w.alice, patkit.ResourceProject, "acme/team/app")
	wantErr(t, err, nil, "")
	want := patkit.Namespace{ID: 2, Name: "Team", Path: "team", FullPath: "acme/team", Kind: "group", ParentID: 1}
	if v.FullName != "acme / Team / App" || *v.Namespace != want || v.Level != patkit.Maintainer || v.NamespaceLevel != patkit.Developer {
		t.Errorf("nested project: %+v %+v", v, v.Namespace)
	}
	v, err = w.svc.Resource(ctx, w.alice, patkit.ResourceGroup, "2")
	wantErr(t, err, nil, "")
	if v.ParentID != 1 || v.FullName != "acme / Team" || v.Namespace != nil {
		t.Errorf("subgroup: %+v", v)
	}
	v, err = w.svc.Resource(ctx, w.bob, patkit.ResourceProject, "4")
	wantErr(t, err, nil, "")
	want = patkit.Namespace{ID: 3, Name: "Bob", Path: "bob", FullPath: "bob", Kind: "user"}
	if *v.Namespace != want || v.FullName != "Bob / dotfiles" {
		t.Errorf("personal project: %+v %+v", v, v.Namespace)
	}
	v, err = w.svc.Resource(ctx, nil, patkit.ResourceProject, "ghost/x")
	wantErr(t, err, nil, "")
	want = patkit.Namespace{Name: "ghost", Path: "ghost", FullPath: "ghost", Kind: "group"}
	if *v.Namespace != want || v.Level != patkit.NoAccess {
		t.Errorf("unknown namespace: %+v", v.Namespace)
	}

	// Visibility is the Directory's: anonymous callers see public ones.
	for _, p := range []*patkit.Principal{nil, {}, w.bob} {
		_, err = w.svc.Resource(ctx, p, patkit.ResourceProject, "acme/team/app")
		wantErr(t, err, patkit.ErrNotFound, "Project Not Found")
	}
	_, err = w.svc.Resource(ctx, w.carol, patkit.ResourceProject, "1")
	wantErr(t, err, patkit.ErrUnauthorized, "")
	_, err = w.svc.Resource(ctx, w.root, patkit.ResourceProject, "acme/team/app")
	wantErr(t, err, nil, "")
	_, err = w.svc.Resource(ctx, w.root, "snippet", "1")
	wantErr(t, err, patkit.ErrNotFound, "Project Not Found")
}

// failingDirectory fails every resource lookup.
type failingDirectory struct{ *patkit.MemDirectory }

var errDirectory = errors.New("directory down")

func (failingDirectory) Resource(context.Context, *patkit.Principal, patkit.ResourceType, string) (*patkit.Resource, error) {
	return nil, errDirectory
}

func (failingDirectory) SearchUsers(context.Context, *patkit.UserQuery) ([]*patkit.User, int, error) {
	return nil, 0, errDirectory
}

func TestServiceLookupFailures(t *testing.T) {
	w := newWorld(t, nil)
	svc, err := patkit.New(w.store, failingDirectory{w.dir}, testKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := svc.Resource(ctx, nil, patkit.ResourceProject, "1"); !errors.Is(err, errDirectory) {
		t.Errorf("anonymous: %v", err)
	}
	if _, err := svc.Resource(ctx, w.bob, patkit.ResourceGroup, "1"); !errors.Is(err, errDirectory) {
		t.Errorf("bob: %v", err)
	}
	if _, err := svc.Users(ctx, w.bob, patkit.UserQuery{Search: "x"}); !errors.Is(err, errDirectory) {
		t.Errorf("search: %v", err)
	}
}

func TestServiceAssociations(t *testing.T) {
	w := newWorld(t, nil)
	ctx := t.Context()
	_, err := w.svc.Associations(ctx, nil, 0, 1, 20)
	wantErr(t, err, patkit.ErrUnauthorized, "")
	_, err = w.svc.Associations(ctx, w.alice, 0, 1, 20)
	wantErr(t, err, patkit.ErrBadRequest, "This endpoint requires token type to be a personal access token")

	_, secret := w.pat(t, 2, patkit.ScopeReadRepository)
	alice := w.login(t, secret)
	a, err := w.svc.Associations(ctx, alice, 0, 1, 20)
	wantErr(t, err, nil, "")
	if len(a.Groups) != 1 || a.Groups[0].Level != patkit.Owner || len(a.Projects) != 2 || a.ProjectsTotal != 2 ||
		a.Projects[0].FullPath != "acme/widgets" || a.Projects[0].NamespaceLevel != patkit.Owner {
		t.Errorf("alice: %+v", a)
	}
	a, _ = w.svc.Associations(ctx, alice, patkit.Owner, 1, 20)
	if len(a.Groups) != 1 || len(a.Projects) != 0 {
		t.Errorf("alice, owner: %+v", a)
	}
	a, _ = w.svc.Associations(ctx, alice, 0, 2, 1)
	if len(a.Groups) != 0 || len(a.Projects) != 1 || a.Projects[0].ID != 2 || a.Page != 2 || a.PerPage != 1 {
		t.Errorf("alice, page 2: %+v", a)
	}

	// A bot the Service manages (no BotDirectory) has its token's
	// resource.
	svc, err := patkit.New(w.store, plainResources{w.dir}, testKey, &patkit.Options{Now: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	_, botSecret, err := svc.CreateResourceToken(ctx, w.alice, patkit.ResourceGroup, "acme", patkit.TokenOptions{Name: "g", Scopes: []patkit.Scope{patkit.ScopeReadAPI}, AccessLevel: patkit.Reporter})
	wantErr(t, err, nil, "")
	bot, err := svc.Authenticate(ctx, botSecret, patkit.AuthRequest{})
	wantErr(t, err, nil, "")
	a, err = svc.Associations(ctx, bot, 0, 1, 20)
	wantErr(t, err, nil, "")
	if len(a.Groups) != 1 || a.Groups[0].ID != 1 || a.Groups[0].Level != patkit.Reporter || len(a.Projects) != 0 {
		t.Errorf("managed bot: %+v", a)
	}
	a, _ = svc.Associations(ctx, bot, patkit.Maintainer, 1, 20)
	if len(a.Groups) != 0 {
		t.Errorf("managed bot above its level: %+v", a)
	}
}

// plainResources is a Directory with resources and memberships but not
// bots.
type plainResources struct{ d *patkit.MemDirectory }

func (p plainResources) UserByID(ctx context.Context, id int64) (*patkit.User, error) {
	return p.d.UserByID(ctx, id)
}

func (p plainResources) UserByUsername(ctx context.Context, name string) (*patkit.User, error) {
	return p.d.UserByUsername(ctx, name)
}

func (p plainResources) Resource(ctx context.Context, v *patkit.Principal, typ patkit.ResourceType, ref string) (*patkit.Resource, error) {
	return p.d.Resource(ctx, v, typ, ref)
}

func (p plainResources) AccessLevel(ctx context.Context, id int64, r *patkit.Resource) (patkit.AccessLevel, error) {
	return p.d.AccessLevel(ctx, id, r)
}

func (p plainResources) Memberships(ctx context.Context, id int64, typ patkit.ResourceType, min patkit.AccessLevel, offset, limit int) ([]*patkit.Resource, int, error) {
	return p.d.Memberships(ctx, id, typ, min, offset, limit)
}

func TestUserQueryMatch(t *testing.T) {
	u := &patkit.User{Username: "Alice", Name: "Alice Liddell", Bot: false}
	for _, tt := range []struct {
		q    patkit.UserQuery
		want bool
	}{
		{patkit.UserQuery{}, true},
		{patkit.UserQuery{Username: "alice"}, true},
		{patkit.UserQuery{Username: "ali"}, false},
		{patkit.UserQuery{Search: "LIDD"}, true},
		{patkit.UserQuery{Search: "zz"}, false},
		{patkit.UserQuery{Blocked: true}, false},
		{patkit.UserQuery{Active: true, WithoutProjectBots: true}, true},
		{patkit.UserQuery{Admins: true}, false},
	} {
		if got := tt.q.Match(u); got != tt.want {
			t.Errorf("%+v: %v", tt.q, got)
		}
	}
}

func TestVersion(t *testing.T) {
	if v := patkit.Version(); v == "" {
		t.Error("empty version")
	}
}

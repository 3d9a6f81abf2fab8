package patkit_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/memstore"
)

// usersOnly is a Directory with neither optional ability.
type usersOnly struct{ mem *patkit.MemDirectory }

func (d usersOnly) UserByID(ctx context.Context, id int64) (*patkit.User, error) {
	return d.mem.UserByID(ctx, id)
}

func (d usersOnly) UserByUsername(ctx context.Context, name string) (*patkit.User, error) {
	return d.mem.UserByUsername(ctx, name)
}

// noBots is a Directory with resources and no BotDirectory: the Service
// manages bot users.
type noBots struct {
	usersOnly
}

func (d noBots) Resource(ctx context.Context, viewer *patkit.Principal, typ patkit.ResourceType, ref string) (*patkit.Resource, error) {
	return d.mem.Resource(ctx, viewer, typ, ref)
}

func (d noBots) AccessLevel(ctx context.Context, userID int64, r *patkit.Resource) (patkit.AccessLevel, error) {
	return d.mem.AccessLevel(ctx, userID, r)
}

func TestServiceManagedBots(t *testing.T) {
	w := newWorld(t, nil)
	ctx := t.Context()
	store := memstore.New()
	dir := noBots{usersOnly{w.dir}}
	svc, err := patkit.New(store, dir, testKey, &patkit.Options{Now: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	alice, err := svc.Principal(ctx, 2, false)
	if err != nil {
		t.Fatal(err)
	}
	tok, secret, err := svc.CreateResourceToken(ctx, alice, patkit.ResourceProject, "acme/widgets",
		patkit.TokenOptions{Name: "deploy", Scopes: []patkit.Scope{patkit.ScopeAPI}, AccessLevel: patkit.Developer})
	if err != nil {
		t.Fatal(err)
	}
	if tok.UserID < 1<<40 || tok.UserID >= 1<<52 {
		t.Errorf("bot ID %d outside [2^40, 2^52)", tok.UserID)
	}
	if _, err := w.dir.UserByID(ctx, tok.UserID); !errors.Is(err, patkit.ErrNotFound) {
		t.Errorf("the host directory knows the bot: %v", err)
	}
	wantName := fmt.Sprintf("project_1_bot_%x", tok.UserID)

	// A restarted Service (new cache, same store) knows the bot from the
	// token alone.
	for i, s := range []*patkit.Service{svc, mustNew(t, store, dir, w)} {
		p, err := s.Authenticate(ctx, secret, patkit.AuthRequest{})
		if err != nil {
			t.Fatalf("service %d: Authenticate: %v", i, err)
		}
		if u := p.User(); u.ID != tok.UserID || !u.Bot || u.Username != wantName || u.Name != "deploy" {
			t.Errorf("service %d: bot %+v", i, u)
		}
	}

	root, err := svc.Principal(ctx, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	// An administrator can name the bot by ID, and sudo to it by username.
	page, err := svc.ListUserTokens(ctx, root, tok.UserID, patkit.Filter{})
	if err != nil || page.Total != 1 {
		t.Errorf("ListUserTokens(bot) = %v, %v", page, err)
	}
	_, sudoSecret, err := svc.CreateToken(ctx, root, 1, patkit.TokenOptions{Name: "s", Scopes: []patkit.Scope{patkit.ScopeSudo}})
	if err != nil {
		t.Fatal(err)
	}
	rp, err := svc.Authenticate(ctx, sudoSecret, patkit.AuthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if sp, err := svc.Sudo(ctx, rp, strings.ToUpper(wantName)); err != nil || sp.User().ID != tok.UserID {
		t.Errorf("Sudo(bot username) = %v, %v", sp, err)
	}
	if _, err := svc.Sudo(ctx, rp, "project_1_bot_ffffffffff"); !errors.Is(err, patkit.ErrNotFound) {
		t.Errorf("Sudo(unknown bot) = %v, want ErrNotFound", err)
	}
	if _, err := svc.Principal(ctx, 0, false); !errors.Is(err, patkit.ErrUnauthorized) {
		t.Errorf("Principal(0) = %v, want ErrUnauthorized", err)
	}

	// The bot's level is the token's; rotation keeps the bot; revocation
	// needs no membership in the host's directory.
	got, err := svc.ResourceToken(ctx, alice, patkit.ResourceProject, "1", tok.ID)
	if err != nil || got.AccessLevel != patkit.Developer {
		t.Errorf("ResourceToken = %+v, %v", got, err)
	}
	next, _, err := svc.RotateResourceToken(ctx, alice, patkit.ResourceProject, "1", tok.ID, date(2026, 4, 1))
	if err != nil || next.UserID != tok.UserID {
		t.Fatalf("RotateResourceToken = %+v, %v", next, err)
	}
	wantErr(t, svc.RevokeResourceToken(ctx, w.bob, patkit.ResourceProject, "1", next.ID), patkit.ErrBadRequest, "Bob cannot delete deploy")
	wantErr(t, svc.RevokeResourceToken(ctx, alice, patkit.ResourceProject, "1", next.ID), nil, "")
}

func mustNew(t *testing.T, store patkit.Store, dir patkit.Directory, w *world) *patkit.Service {
	t.Helper()
	svc, err := patkit.New(store, dir, testKey, &patkit.Options{Now: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// failCreate is a Store whose Create always fails.
type failCreate struct{ patkit.Store }

func (failCreate) Create(context.Context, *patkit.Token) error { return errors.New("disk full") }

// countingBots counts the bots a MemDirectory holds.
type countingBots struct {
	*patkit.MemDirectory
	live atomic.Int64
}

func (d *countingBots) CreateBot(ctx context.Context, r *patkit.Resource, name string, l patkit.AccessLevel) (*patkit.User, error) {
	d.live.Add(1)
	return d.MemDirectory.CreateBot(ctx, r, name, l)
}

func (d *countingBots) DeleteBot(ctx context.Context, id int64) error {
	d.live.Add(-1)
	return d.MemDirectory.DeleteBot(ctx, id)
}

func TestHostBotDeletedWhenTokenNotSaved(t *testing.T) {
	w := newWorld(t, nil)
	dir := &countingBots{MemDirectory: w.dir}
	ctx, cancel := context.WithCancel(t.Context())
	svc := mustNew(t, failCreate{memstore.New()}, dir, w)
	alice, err := svc.Principal(ctx, 2, false)
	if err != nil {
		t.Fatal(err)
	}
	cancel() // the undo must not depend on the request's context
	_, _, err = svc.CreateResourceToken(ctx, alice, patkit.ResourceProject, "1",
		patkit.TokenOptions{Name: "deploy", Scopes: []patkit.Scope{patkit.ScopeAPI}})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("CreateResourceToken = %v, want the store's error", err)
	}
	if n := dir.live.Load(); n != 0 {
		t.Errorf("%d bot users left behind", n)
	}
}

func TestDirectoryWithoutResources(t *testing.T) {
	w := newWorld(t, nil)
	svc := mustNew(t, memstore.New(), usersOnly{w.dir}, w)
	alice, err := svc.Principal(t.Context(), 2, false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.ListResourceTokens(t.Context(), alice, patkit.ResourceGroup, "acme", patkit.Filter{})
	wantErr(t, err, patkit.ErrNotFound, "Group Not Found")
	_, _, err = svc.CreateResourceToken(t.Context(), alice, patkit.ResourceProject, "1", patkit.TokenOptions{Name: "x"})
	wantErr(t, err, patkit.ErrNotFound, "Project Not Found")
	// An unknown resource type is a resource that does not exist.
	_, err = w.svc.ListResourceTokens(t.Context(), w.alice, "user", "1", patkit.Filter{})
	wantErr(t, err, patkit.ErrNotFound, "Project Not Found")
}

func TestPrincipal(t *testing.T) {
	ctx := t.Context()
	for _, tt := range []struct {
		name                string
		adminModeInstance   bool
		id                  int64
		sessionAdmin, admin bool
		code                error
	}{
		{"admin", false, 1, false, true, nil},
		{"admin mode off in session", true, 1, false, false, nil},
		{"admin mode on in session", true, 1, true, true, nil},
		{"user asking for admin mode", true, 2, true, false, nil},
		{"unknown user", false, 99, false, false, patkit.ErrUnauthorized},
		{"blocked user", false, 4, false, false, patkit.ErrForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, &patkit.Options{AdminMode: tt.adminModeInstance})
			p, err := w.svc.Principal(ctx, tt.id, tt.sessionAdmin)
			wantErr(t, err, tt.code, "")
			if err != nil {
				return
			}
			if p.Admin() != tt.admin || p.Token() != nil || p.User().ID != tt.id {
				t.Errorf("Principal = admin %v, token %v, user %d", p.Admin(), p.Token(), p.User().ID)
			}
			// A session principal has no token for "self" endpoints.
			_, err = w.svc.SelfToken(p)
			wantErr(t, err, patkit.ErrBadRequest, "This endpoint requires token type to be a personal access token")
		})
	}
}

func TestHandBuiltPrincipalIsAnonymous(t *testing.T) {
	w := newWorld(t, nil)
	tok, _ := w.pat(t, 2)
	for _, p := range []*patkit.Principal{nil, {}} {
		if _, err := w.svc.ListTokens(t.Context(), p, patkit.Filter{}); !errors.Is(err, patkit.ErrUnauthorized) {
			t.Errorf("ListTokens(%v) = %v", p, err)
		}
		if err := w.svc.RevokeToken(t.Context(), p, tok.ID); !errors.Is(err, patkit.ErrUnauthorized) {
			t.Errorf("RevokeToken(%v) = %v", p, err)
		}
		if _, _, err := w.svc.CreateToken(t.Context(), p, 2, patkit.TokenOptions{}); !errors.Is(err, patkit.ErrUnauthorized) {
			t.Errorf("CreateToken(%v) = %v", p, err)
		}
	}
}

// brokenDirectory fails every lookup with a fault of its own.
type brokenDirectory struct{ err error }

func (d brokenDirectory) UserByID(context.Context, int64) (*patkit.User, error) { return nil, d.err }
func (d brokenDirectory) UserByUsername(context.Context, string) (*patkit.User, error) {
	return nil, d.err
}

func TestInfrastructureErrors(t *testing.T) {
	w := newWorld(t, nil)
	_, secret := w.pat(t, 2)
	fault := errors.New("ldap: connection reset")
	svc := mustNew(t, w.store, brokenDirectory{fault}, w)

	// A Directory fault is passed on wrapped, never as a refusal.
	_, err := svc.Authenticate(t.Context(), secret, patkit.AuthRequest{})
	var pe *patkit.Error
	if !errors.Is(err, fault) || errors.As(err, &pe) {
		t.Errorf("Authenticate with a broken directory = %v, want the fault wrapped", err)
	}
	if _, err := svc.Principal(t.Context(), 2, false); !errors.Is(err, fault) {
		t.Errorf("Principal with a broken directory = %v", err)
	}

	// A cancelled context surfaces as itself.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := w.svc.ListTokens(ctx, w.root, patkit.Filter{}); !errors.Is(err, context.Canceled) || errors.As(err, &pe) {
		t.Errorf("ListTokens with a cancelled context = %v", err)
	}
}

// TestServiceBotSeesItsResource checks that a bot the Service manages, of
// which the host's directory knows nothing, is a member of its token's
// private resource at the token's level, and of nothing else.
func TestServiceBotSeesItsResource(t *testing.T) {
	w := newWorld(t, nil)
	w.dir.AddResource(patkit.Resource{Type: patkit.ResourceProject, ID: 3, FullPath: "acme/private"})
	w.dir.AddResource(patkit.Resource{Type: patkit.ResourceProject, ID: 4, FullPath: "acme/other"})
	w.dir.SetAccess(patkit.ResourceProject, 3, 2, patkit.Maintainer)
	w.dir.SetAccess(patkit.ResourceProject, 4, 2, patkit.Maintainer)
	ctx := t.Context()
	svc := mustNew(t, memstore.New(), noBots{usersOnly{w.dir}}, w)
	alice, err := svc.Principal(ctx, 2, false)
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := svc.CreateResourceToken(ctx, alice, patkit.ResourceProject, "acme/private",
		patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{patkit.ScopeAPI}, AccessLevel: patkit.Maintainer})
	if err != nil {
		t.Fatal(err)
	}
	bot, err := svc.Authenticate(ctx, secret, patkit.AuthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if page, err := svc.ListResourceTokens(ctx, bot, patkit.ResourceProject, "acme/private", patkit.Filter{}); err != nil || page.Total != 1 {
		t.Errorf("a Maintainer bot lists its project's tokens: %v, %v", page, err)
	}
	_, err = svc.ListResourceTokens(ctx, bot, patkit.ResourceProject, "acme/other", patkit.Filter{})
	wantErr(t, err, patkit.ErrNotFound, "Project Not Found")
	if _, _, err := svc.RotateResourceTokenSelf(ctx, bot, patkit.ResourceProject, "3", date(2026, 4, 1)); err != nil {
		t.Errorf("the bot rotates itself: %v", err)
	}
}

func TestMemDirectoryLookups(t *testing.T) {
	ctx := t.Context()
	d := new(patkit.MemDirectory)
	for i, name := range []string{"root", "alice", "bob", "carol"} {
		d.AddUser(patkit.User{ID: int64(i + 1), Username: name, Name: strings.ToUpper(name), Blocked: name == "carol"})
	}
	d.AddResource(patkit.Resource{Type: patkit.ResourceProject, ID: 1, FullPath: "acme/public", Public: true})
	d.AddResource(patkit.Resource{Type: patkit.ResourceProject, ID: 2, FullPath: "acme/private"})
	d.AddResource(patkit.Resource{Type: patkit.ResourceProject, ID: 3, FullPath: "acme/other"})
	d.AddResource(patkit.Resource{Type: patkit.ResourceGroup, ID: 1, FullPath: "acme"})
	d.SetAccess(patkit.ResourceProject, 2, 2, patkit.Developer)
	d.SetAccess(patkit.ResourceProject, 1, 2, patkit.Guest)
	d.SetAccess(patkit.ResourceProject, 3, 2, patkit.MinimalAccess)
	d.SetAccess(patkit.ResourceGroup, 1, 2, patkit.Owner)

	// Anonymous viewers (a Principal without user) see public resources.
	anon := &patkit.Principal{}
	if _, err := d.Resource(ctx, anon, patkit.ResourceProject, "acme/public"); err != nil {
		t.Errorf("anonymous, public: %v", err)
	}
	if _, err := d.Resource(ctx, anon, patkit.ResourceProject, "2"); !errors.Is(err, patkit.ErrNotFound) {
		t.Errorf("anonymous, private: %v", err)
	}

	users, total, err := d.SearchUsers(ctx, &patkit.UserQuery{Search: "O", Active: true, Page: 1, PerPage: 1})
	if err != nil || total != 2 || len(users) != 1 || users[0].Username != "bob" {
		t.Errorf("search: %v %d %v", users, total, err)
	}
	users, total, _ = d.SearchUsers(ctx, &patkit.UserQuery{Page: 3, PerPage: 2})
	if total != 4 || len(users) != 0 {
		t.Errorf("beyond the last page: %v %d", users, total)
	}

	rs, total, err := d.Memberships(ctx, 2, patkit.ResourceProject, patkit.NoAccess, 0, 10)
	if err != nil || total != 3 || len(rs) != 3 || rs[0].ID != 1 || rs[2].ID != 3 {
		t.Errorf("memberships: %v %d %v", rs, total, err)
	}
	rs, total, _ = d.Memberships(ctx, 2, patkit.ResourceProject, patkit.Reporter, 0, 10)
	if total != 1 || rs[0].ID != 2 {
		t.Errorf("memberships at Reporter: %v %d", rs, total)
	}
	rs, total, _ = d.Memberships(ctx, 2, patkit.ResourceProject, patkit.NoAccess, 2, 10)
	if total != 3 || len(rs) != 1 || rs[0].ID != 3 {
		t.Errorf("memberships from offset 2: %v %d", rs, total)
	}
	rs, total, _ = d.Memberships(ctx, 2, patkit.ResourceGroup, patkit.Owner, 0, 10)
	if total != 1 || rs[0].FullPath != "acme" {
		t.Errorf("group memberships: %v %d", rs, total)
	}
	// A returned resource is a copy.
	rs[0].FullPath = "changed"
	if r, _ := d.Resource(ctx, nil, patkit.ResourceGroup, "1"); r.FullPath != "acme" {
		t.Error("Memberships shares its resources")
	}

	r := patkit.Resource{FullPath: "acme/sub/web.site"}
	if r.Path() != "web.site" || r.DisplayName() != "web.site" {
		t.Errorf("Path %q, DisplayName %q", r.Path(), r.DisplayName())
	}
	r.Name = "Site"
	if r.DisplayName() != "Site" {
		t.Errorf("DisplayName %q", r.DisplayName())
	}
}

// TestMemDirectoryConcurrentWrites adds users from several goroutines while
// others read (run with -race): no write may be lost.
func TestMemDirectoryConcurrentWrites(t *testing.T) {
	d := new(patkit.MemDirectory)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				id := int64(g*50 + i + 1)
				d.AddUser(patkit.User{ID: id, Username: fmt.Sprint("u", id)})
				if _, err := d.UserByID(t.Context(), id); err != nil {
					t.Errorf("user %d just added: %v", id, err)
				}
			}
		})
	}
	wg.Wait()
	for id := int64(1); id <= 200; id++ {
		if _, err := d.UserByID(t.Context(), id); err != nil {
			t.Errorf("user %d lost: %v", id, err)
		}
	}
}

// A write to a MemDirectory costs the same whatever its size: a host that
// loads 50,000 users, or creates a project bot among them, must not copy
// them all each time (which made loading 50,000 users take 17 s of CPU).
func TestMemDirectoryWriteCostFlat(t *testing.T) {
	d := new(patkit.MemDirectory)
	for id := int64(1); id <= 10_000; id++ {
		d.AddUser(patkit.User{ID: id, Username: fmt.Sprint("u", id)})
	}
	r := patkit.Resource{Type: patkit.ResourceProject, ID: 1, FullPath: "acme/widgets"}
	d.AddResource(r)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const n = 100
	for i := range int64(n) {
		d.AddUser(patkit.User{ID: 20_000 + i, Username: fmt.Sprint("new", i)})
		if _, err := d.CreateBot(t.Context(), &r, "bot", patkit.Maintainer); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / (2 * n); per > 4<<10 {
		t.Errorf("a write to a directory of 10,000 users allocates %d bytes; want it not to copy the users (≤ 4 KiB)", per)
	}
}

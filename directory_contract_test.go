package patkit_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/memstore"
)

// lossyDirectory breaks the Directory's contract for one user: it answers
// neither the user nor an error (lost), or another user (swapped, as
// user 1).
type lossyDirectory struct {
	*patkit.MemDirectory
	id      int64
	swapped bool
}

func (d *lossyDirectory) UserByID(ctx context.Context, id int64) (*patkit.User, error) {
	switch {
	case id == d.id && d.swapped:
		return d.MemDirectory.UserByID(ctx, 1)
	case id == d.id:
		return nil, nil
	}
	return d.MemDirectory.UserByID(ctx, id)
}

func (d *lossyDirectory) UserByUsername(ctx context.Context, name string) (*patkit.User, error) {
	u, err := d.MemDirectory.UserByUsername(ctx, name)
	if err == nil && u.ID == d.id {
		return d.UserByID(ctx, u.ID)
	}
	return u, err
}

// A Directory that answers no user and no error, or a user other than the
// one asked for, breaks its contract: the Service reports an error of its
// own, neither panicking nor acting as someone else.
func TestDirectoryBreakingItsContract(t *testing.T) {
	ctx := t.Context()
	mem := new(patkit.MemDirectory)
	mem.AddUser(patkit.User{ID: 1, Username: "root", Admin: true})
	mem.AddUser(patkit.User{ID: 2, Username: "alice"})
	dir := &lossyDirectory{MemDirectory: mem}
	svc, err := patkit.New(memstore.New(), dir, testKey, &patkit.Options{CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	root, err := svc.Principal(ctx, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	_, alice, err := svc.CreateToken(ctx, root, 2, patkit.TokenOptions{Name: "a", Scopes: []patkit.Scope{patkit.ScopeAPI}})
	if err != nil {
		t.Fatal(err)
	}
	_, rootSudo, err := svc.CreateToken(ctx, root, 1, patkit.TokenOptions{Name: "s", Scopes: []patkit.Scope{patkit.ScopeAPI, patkit.ScopeSudo}})
	if err != nil {
		t.Fatal(err)
	}
	for _, swapped := range []bool{false, true} {
		dir.id, dir.swapped = 2, swapped
		calls := map[string]func() error{
			"Authenticate": func() error { _, err := svc.Authenticate(ctx, alice, patkit.AuthRequest{}); return err },
			"Principal":    func() error { _, err := svc.Principal(ctx, 2, false); return err },
			"Sudo by ID": func() error {
				p, err := svc.Authenticate(ctx, rootSudo, patkit.AuthRequest{})
				if err == nil {
					_, err = svc.Sudo(ctx, p, "2")
				}
				return err
			},
			"Sudo by username": func() error {
				p, err := svc.Authenticate(ctx, rootSudo, patkit.AuthRequest{})
				if err == nil {
					_, err = svc.Sudo(ctx, p, "alice")
				}
				return err
			},
			"CreateToken": func() error {
				_, _, err := svc.CreateToken(ctx, root, 2, patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{patkit.ScopeAPI}})
				return err
			},
		}
		for name, call := range calls {
			wantBrokenAnswer(t, fmt.Sprintf("swapped=%v: %s", swapped, name), call)
		}
	}
}

// wantBrokenAnswer fails t unless call returns the error of a Directory's
// broken answer: an error, not ErrNotFound, and no panic.
func wantBrokenAnswer(t *testing.T, what string, call func() error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s panicked: %v", what, r)
		}
	}()
	if err := call(); err == nil || errors.Is(err, patkit.ErrNotFound) {
		t.Errorf("%s: error %v, want the Directory's broken answer", what, err)
	}
}

// lossyResources answers a project with neither a resource nor an error,
// a group asked for as a project, and makes bots that are nobody.
type lossyResources struct {
	*patkit.MemDirectory
	mode string // "nil", "group" or "bot"
}

func (d *lossyResources) Resource(ctx context.Context, viewer *patkit.Principal, typ patkit.ResourceType, ref string) (*patkit.Resource, error) {
	switch {
	case d.mode == "nil" && typ == patkit.ResourceProject:
		return nil, nil
	case d.mode == "group" && typ == patkit.ResourceProject:
		return d.MemDirectory.Resource(ctx, viewer, patkit.ResourceGroup, "1")
	}
	return d.MemDirectory.Resource(ctx, viewer, typ, ref)
}

func (d *lossyResources) CreateBot(context.Context, *patkit.Resource, string, patkit.AccessLevel) (*patkit.User, error) {
	return nil, nil
}

func (d *lossyResources) DeleteBot(context.Context, int64) error { return nil }

// The same of a ResourceDirectory and a BotDirectory: an answer with
// neither a resource nor an error, or a resource of another type, and a
// bot that is nobody, are errors, not panics.
func TestResourceDirectoryBreakingItsContract(t *testing.T) {
	ctx := t.Context()
	for _, mode := range []string{"nil", "group", "bot"} {
		mem := new(patkit.MemDirectory)
		mem.AddUser(patkit.User{ID: 1, Username: "root", Admin: true})
		mem.AddResource(patkit.Resource{Type: patkit.ResourceProject, ID: 1, FullPath: "acme/widgets", Public: true})
		mem.AddResource(patkit.Resource{Type: patkit.ResourceGroup, ID: 1, FullPath: "acme", Public: true})
		dir := &lossyResources{MemDirectory: mem, mode: mode}
		svc, err := patkit.New(memstore.New(), dir, testKey, nil)
		if err != nil {
			t.Fatal(err)
		}
		root, err := svc.Principal(ctx, 1, false)
		if err != nil {
			t.Fatal(err)
		}
		wantBrokenAnswer(t, mode+": CreateResourceToken", func() error {
			_, _, err := svc.CreateResourceToken(ctx, root, patkit.ResourceProject, "1", patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{patkit.ScopeAPI}})
			return err
		})
	}
}

// holeyLists answers searches and memberships with a nil among them.
type holeyLists struct{ *patkit.MemDirectory }

func (d holeyLists) SearchUsers(context.Context, *patkit.UserQuery) ([]*patkit.User, int, error) {
	return []*patkit.User{nil}, 1, nil
}

func (d holeyLists) Memberships(context.Context, int64, patkit.ResourceType, patkit.AccessLevel, int, int) ([]*patkit.Resource, int, error) {
	return []*patkit.Resource{nil}, 1, nil
}

func TestListingDirectoryBreakingItsContract(t *testing.T) {
	ctx := t.Context()
	mem := new(patkit.MemDirectory)
	mem.AddUser(patkit.User{ID: 1, Username: "root", Admin: true})
	svc, err := patkit.New(memstore.New(), holeyLists{mem}, testKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	root, err := svc.Principal(ctx, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	wantBrokenAnswer(t, "Users, a nil user from SearchUsers", func() error {
		_, err := svc.Users(ctx, root, patkit.UserQuery{Search: "x"})
		return err
	})
	_, secret, err := svc.CreateToken(ctx, root, 1, patkit.TokenOptions{Name: "t", Scopes: []patkit.Scope{patkit.ScopeReadUser}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.Authenticate(ctx, secret, patkit.AuthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	wantBrokenAnswer(t, "Associations, a nil resource from Memberships", func() error {
		_, err := svc.Associations(ctx, p, patkit.Guest, 1, 20)
		return err
	})
}

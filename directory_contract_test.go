package patkit_test

import (
	"context"
	"errors"
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
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("swapped=%v: %s panicked: %v", swapped, name, r)
						err = errors.New("panicked")
					}
				}()
				err = call()
			}()
			if err == nil || errors.Is(err, patkit.ErrNotFound) {
				t.Errorf("swapped=%v: %s: error %v, want the Directory's broken answer", swapped, name, err)
			}
		}
	}
}

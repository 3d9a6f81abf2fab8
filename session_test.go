package patkit_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/patkit/patkit"
)

func TestScopesFor(t *testing.T) {
	user := patkit.ScopesFor(&patkit.User{ID: 2})
	if slices.ContainsFunc(user, patkit.AdminScope) || !slices.Contains(user, patkit.ScopeAPI) || !slices.Contains(user, patkit.ScopeReadUser) {
		t.Errorf("user scopes %v", user)
	}
	if diff := cmp.Diff(patkit.AllScopes(), patkit.ScopesFor(&patkit.User{ID: 1, Admin: true})); diff != "" {
		t.Errorf("admin scopes (-want +got):\n%s", diff)
	}
	user[0] = "changed" // the catalogue is not shared
	if patkit.ScopesFor(&patkit.User{})[0] != patkit.ScopeAPI {
		t.Error("ScopesFor returned the catalogue itself")
	}
}

func TestGrantableLevels(t *testing.T) {
	admin := patkit.NewTestPrincipal(&patkit.User{ID: 1, Admin: true}, nil, true)
	alice := patkit.NewTestPrincipal(&patkit.User{ID: 2}, nil, false)
	all := []patkit.AccessLevel{patkit.Guest, patkit.Planner, patkit.Reporter, patkit.Developer, patkit.Maintainer, patkit.Owner}
	tests := []struct {
		name  string
		p     *patkit.Principal
		typ   patkit.ResourceType
		level patkit.AccessLevel
		want  []patkit.AccessLevel
	}{
		{"project maintainer: not owner", alice, patkit.ResourceProject, patkit.Maintainer, all[:5]},
		{"project owner: all", alice, patkit.ResourceProject, patkit.Owner, all},
		{"group owner: all", alice, patkit.ResourceGroup, patkit.Owner, all},
		{"group maintainer: up to maintainer", alice, patkit.ResourceGroup, patkit.Maintainer, all[:5]},
		{"developer: up to developer", alice, patkit.ResourceProject, patkit.Developer, all[:4]},
		{"admin without membership: all", admin, patkit.ResourceProject, patkit.NoAccess, all},
		{"non-member: none", alice, patkit.ResourceProject, patkit.NoAccess, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, patkit.GrantableLevels(tt.p, tt.typ, tt.level)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestTokenLevelsAgreeWithCreate checks that the levels a form offers
// are exactly those CreateResourceToken accepts.
func TestTokenLevelsAgreeWithCreate(t *testing.T) {
	w := newWorld(t, nil)
	for _, c := range []struct {
		p   *patkit.Principal
		typ patkit.ResourceType
		ref string
	}{
		{w.alice, patkit.ResourceProject, "acme/widgets"},
		{w.alice, patkit.ResourceGroup, "acme"},
		{w.root, patkit.ResourceProject, "1"},
	} {
		levels, err := w.svc.TokenLevels(t.Context(), c.p, c.typ, c.ref)
		wantErr(t, err, nil, "")
		for _, l := range []patkit.AccessLevel{patkit.Guest, patkit.Planner, patkit.Reporter, patkit.Developer, patkit.Maintainer, patkit.Owner} {
			_, _, err := w.svc.CreateResourceToken(t.Context(), c.p, c.typ, c.ref, patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{"api"}, AccessLevel: l})
			if offered := slices.Contains(levels, l); offered != (err == nil) {
				t.Errorf("%s %s %s level %d: offered %v, create error %v", c.p.User().Username, c.typ, c.ref, l, offered, err)
			}
		}
	}
	_, err := w.svc.TokenLevels(t.Context(), w.bob, patkit.ResourceProject, "acme/widgets")
	wantErr(t, err, patkit.ErrBadRequest, "User does not have permission to create project access token")
	_, err = w.svc.TokenLevels(t.Context(), w.alice, patkit.ResourceProject, "acme/locked")
	wantErr(t, err, patkit.ErrBadRequest, "User does not have permission to create project access token")
	_, err = w.svc.TokenLevels(t.Context(), w.alice, patkit.ResourceProject, "acme/nothing")
	wantErr(t, err, patkit.ErrNotFound, "Project Not Found")
}

func TestCreatePersonalToken(t *testing.T) {
	w := newWorld(t, nil)
	tok, secret, err := w.svc.CreatePersonalToken(t.Context(), w.alice, patkit.TokenOptions{Name: "laptop", Scopes: []patkit.Scope{"api", "read_user"}})
	wantErr(t, err, nil, "")
	if tok.UserID != 2 || tok.Impersonation || !tok.ExpiresAt.Equal(w.svc.ExpiryLimit()) || secret == "" {
		t.Errorf("token %+v", tok)
	}
	_, _, err = w.svc.CreatePersonalToken(t.Context(), w.alice, patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{"sudo"}})
	wantErr(t, err, patkit.ErrInvalid, "Scopes can only contain available scopes")
	_, _, err = w.svc.CreatePersonalToken(t.Context(), w.root, patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{"sudo"}})
	wantErr(t, err, nil, "")
	_, _, err = w.svc.CreatePersonalToken(t.Context(), w.alice, patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{"api"}, ExpiresAt: date(2027, 3, 11)})
	wantErr(t, err, patkit.ErrInvalid, "Expiration date must be before 2027-03-10")
	// A token cannot mint a broader one, even one with api.
	_, _, err = w.svc.CreatePersonalToken(t.Context(), w.login(t, secret), patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{"api"}})
	wantErr(t, err, patkit.ErrForbidden, "")
	_, _, err = w.svc.CreatePersonalToken(t.Context(), w.carol, patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{"api"}})
	wantErr(t, err, patkit.ErrInvalid, "Not permitted to create") // blocked
	_, _, err = w.svc.CreatePersonalToken(t.Context(), nil, patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{"api"}})
	wantErr(t, err, patkit.ErrUnauthorized, "")
}

func TestExpiryLimit(t *testing.T) {
	w := newWorld(t, &patkit.Options{MaxLifetimeDays: 30})
	if got := w.svc.ExpiryLimit(); !got.Equal(date(2026, 4, 9)) {
		t.Errorf("ExpiryLimit = %v", got)
	}
	w = newWorld(t, &patkit.Options{AllowNoExpiry: true})
	if got := w.svc.ExpiryLimit(); !got.IsZero() {
		t.Errorf("ExpiryLimit without required expiry = %v", got)
	}
}

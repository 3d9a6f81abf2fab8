package patkit_test

import (
	"testing"

	"github.com/patkit/patkit"
)

func TestAllowed(t *testing.T) {
	var (
		admin    = patkit.NewTestPrincipal(&patkit.User{ID: 1, Admin: true}, nil, true)
		noMode   = patkit.NewTestPrincipal(&patkit.User{ID: 1, Admin: true}, nil, false) // admin outside admin mode
		alice    = patkit.NewTestPrincipal(&patkit.User{ID: 2}, nil, false)
		bob      = patkit.NewTestPrincipal(&patkit.User{ID: 3}, nil, false)
		blocked  = patkit.NewTestPrincipal(&patkit.User{ID: 2, Blocked: true}, nil, false)
		blockedA = patkit.NewTestPrincipal(&patkit.User{ID: 1, Admin: true, Blocked: true}, nil, true)
		bot      = patkit.NewTestPrincipal(&patkit.User{ID: 9, Bot: true}, nil, false)

		alicePAT   = &patkit.Token{ID: 1, UserID: 2}
		aliceImp   = &patkit.Token{ID: 2, UserID: 2, Impersonation: true}
		rootImp    = &patkit.Token{ID: 3, UserID: 1, Impersonation: true}
		project    = &patkit.Resource{Type: patkit.ResourceProject, ID: 1}
		group      = &patkit.Resource{Type: patkit.ResourceGroup, ID: 1}
		noCreation = &patkit.Resource{Type: patkit.ResourceProject, ID: 2, TokenCreationDisabled: true}
	)
	tests := []struct {
		name string
		p    *patkit.Principal
		a    patkit.Action
		t    patkit.Target
		want bool
	}{
		// GET /personal_access_tokens[/:id], POST /personal_access_tokens/:id/rotate
		{"read own tokens", alice, patkit.ReadUserTokens, patkit.Target{OwnerID: 2}, true},
		{"read other's tokens", bob, patkit.ReadUserTokens, patkit.Target{OwnerID: 2}, false},
		{"admin reads any tokens", admin, patkit.ReadUserTokens, patkit.Target{OwnerID: 2}, true},
		{"admin outside admin mode reads only own", noMode, patkit.ReadUserTokens, patkit.Target{OwnerID: 2}, false},
		{"admin outside admin mode reads own", noMode, patkit.ReadUserTokens, patkit.Target{OwnerID: 1}, true},
		{"blocked reads nothing", blocked, patkit.ReadUserTokens, patkit.Target{OwnerID: 2}, false},
		{"nil principal", nil, patkit.ReadUserTokens, patkit.Target{OwnerID: 2}, false},

		// DELETE /personal_access_tokens/:id and /self
		{"owner revokes PAT", alice, patkit.RevokeToken, patkit.Target{Token: alicePAT}, true},
		{"other cannot revoke", bob, patkit.RevokeToken, patkit.Target{Token: alicePAT}, false},
		{"owner cannot revoke own impersonation token", alice, patkit.RevokeToken, patkit.Target{Token: aliceImp}, false},
		{"admin revokes impersonation token", admin, patkit.RevokeToken, patkit.Target{Token: aliceImp}, true},
		{"admin revokes own impersonation token", admin, patkit.RevokeToken, patkit.Target{Token: rootImp}, true},
		{"admin outside admin mode cannot revoke own impersonation token", noMode, patkit.RevokeToken, patkit.Target{Token: rootImp}, false},
		{"blocked owner cannot revoke", blocked, patkit.RevokeToken, patkit.Target{Token: alicePAT}, false},
		{"blocked admin cannot revoke", blockedA, patkit.RevokeToken, patkit.Target{Token: alicePAT}, false},
		{"revoke without token", admin, patkit.RevokeToken, patkit.Target{}, false},

		// POST /users/:id/personal_access_tokens, impersonation endpoints
		{"admin creates for user", admin, patkit.CreateUserToken, patkit.Target{}, true},
		{"user cannot create for user", alice, patkit.CreateUserToken, patkit.Target{}, false},
		{"admin outside admin mode cannot create for user", noMode, patkit.CreateUserToken, patkit.Target{}, false},
		{"admin manages impersonation", admin, patkit.ManageImpersonation, patkit.Target{}, true},
		{"user cannot manage impersonation", alice, patkit.ManageImpersonation, patkit.Target{}, false},
		{"admin outside admin mode cannot manage impersonation", noMode, patkit.ManageImpersonation, patkit.Target{}, false},
		{"admin manages any token", admin, patkit.ManageAnyToken, patkit.Target{}, true},
		{"user cannot manage any token", alice, patkit.ManageAnyToken, patkit.Target{}, false},
		{"admin outside admin mode cannot manage any token", noMode, patkit.ManageAnyToken, patkit.Target{}, false},

		// POST /user/personal_access_tokens
		{"user creates own", alice, patkit.CreateOwnToken, patkit.Target{}, true},
		{"bot cannot create own", bot, patkit.CreateOwnToken, patkit.Target{}, false},
		{"blocked cannot create own", blocked, patkit.CreateOwnToken, patkit.Target{}, false},

		// GET /projects/:id/access_tokens[/:tid]
		{"project maintainer reads", alice, patkit.ReadResourceTokens, patkit.Target{Resource: project, Level: patkit.Maintainer}, true},
		{"project owner reads", alice, patkit.ReadResourceTokens, patkit.Target{Resource: project, Level: patkit.Owner}, true},
		{"project developer cannot read", bob, patkit.ReadResourceTokens, patkit.Target{Resource: project, Level: patkit.Developer}, false},
		{"non-member cannot read", bob, patkit.ReadResourceTokens, patkit.Target{Resource: project}, false},
		{"admin reads project tokens", admin, patkit.ReadResourceTokens, patkit.Target{Resource: project}, true},
		{"group owner reads", alice, patkit.ReadResourceTokens, patkit.Target{Resource: group, Level: patkit.Owner}, true},
		{"group maintainer cannot read", alice, patkit.ReadResourceTokens, patkit.Target{Resource: group, Level: patkit.Maintainer}, false},
		{"admin reads group tokens", admin, patkit.ReadResourceTokens, patkit.Target{Resource: group}, true},
		{"read without resource", admin, patkit.ReadResourceTokens, patkit.Target{}, false},

		// POST /projects/:id/access_tokens, …/:tid/rotate
		{"project maintainer creates", alice, patkit.CreateResourceToken, patkit.Target{Resource: project, Level: patkit.Maintainer}, true},
		{"project developer cannot create", bob, patkit.CreateResourceToken, patkit.Target{Resource: project, Level: patkit.Developer}, false},
		{"group owner creates", alice, patkit.CreateResourceToken, patkit.Target{Resource: group, Level: patkit.Owner}, true},
		{"group maintainer cannot create", alice, patkit.CreateResourceToken, patkit.Target{Resource: group, Level: patkit.Maintainer}, false},
		{"creation disabled", alice, patkit.CreateResourceToken, patkit.Target{Resource: noCreation, Level: patkit.Owner}, false},
		{"creation disabled for admin too", admin, patkit.CreateResourceToken, patkit.Target{Resource: noCreation}, false},
		{"bot cannot create resource token", bot, patkit.CreateResourceToken, patkit.Target{Resource: project, Level: patkit.Maintainer}, false},
		{"admin creates resource token", admin, patkit.CreateResourceToken, patkit.Target{Resource: group}, true},

		// DELETE /projects/:id/access_tokens/:tid
		{"project maintainer revokes", alice, patkit.RevokeResourceToken, patkit.Target{Resource: project, Level: patkit.Maintainer}, true},
		{"project developer cannot revoke", bob, patkit.RevokeResourceToken, patkit.Target{Resource: project, Level: patkit.Developer}, false},
		{"group owner revokes", alice, patkit.RevokeResourceToken, patkit.Target{Resource: group, Level: patkit.Owner}, true},
		{"group reporter cannot revoke", bob, patkit.RevokeResourceToken, patkit.Target{Resource: group, Level: patkit.Reporter}, false},
		{"admin revokes resource token", admin, patkit.RevokeResourceToken, patkit.Target{Resource: project}, true},

		// GET /user, /users/:id, /users
		{"user sees self", alice, patkit.ReadCurrentUser, patkit.Target{}, true},
		{"bot sees self", bot, patkit.ReadCurrentUser, patkit.Target{}, true},
		{"user reads a user", alice, patkit.ReadUser, patkit.Target{}, true},
		{"user lists users", bob, patkit.ListUsers, patkit.Target{}, true},
		{"admin outside admin mode lists users", noMode, patkit.ListUsers, patkit.Target{}, true},
		{"blocked cannot read users", blocked, patkit.ReadUser, patkit.Target{}, false},
		{"anonymous cannot see self", nil, patkit.ReadCurrentUser, patkit.Target{}, false},
		{"anonymous cannot read users", nil, patkit.ReadUser, patkit.Target{}, false},
		{"anonymous cannot list users", &patkit.Principal{}, patkit.ListUsers, patkit.Target{}, false},

		{"unknown action", admin, patkit.Action(0), patkit.Target{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := patkit.Allowed(tt.p, tt.a, tt.t); got != tt.want {
				t.Errorf("Allowed = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestAuthorizeLookups checks GitLab's answers to anonymous lookups: 401
// for oneself, 403 with GitLab's reasons for users.
func TestAuthorizeLookups(t *testing.T) {
	for _, tt := range []struct {
		a    patkit.Action
		code error
		msg  string
	}{
		{patkit.ReadCurrentUser, patkit.ErrUnauthorized, ""},
		{patkit.ReadUser, patkit.ErrForbidden, "Not authorized!"},
		{patkit.ListUsers, patkit.ErrForbidden, "Not authorized to access /api/v4/users"},
	} {
		for _, p := range []*patkit.Principal{nil, {}} {
			wantErr(t, patkit.Authorize(p, tt.a, patkit.Target{}), tt.code, tt.msg)
		}
	}
}

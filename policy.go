package patkit

import "fmt"

// Principal is who is making a request: the user, the token they
// authenticated with, and whether they act as an administrator. Only a
// Service makes Principals (Authenticate, Sudo and Principal), so that
// administrator rights, admin mode and the blocked state are always
// computed the same way; the zero Principal is anonymous and is allowed
// nothing. A Principal is immutable and safe to share.
type Principal struct {
	user   *User
	token  *Token
	admin  bool
	sudoer *User
	ip     string // the client address it authenticated from, if known
}

// User returns the acting user (with Sudo, the impersonated user), or nil
// for the zero Principal. The result must not be modified.
func (p *Principal) User() *User {
	if p == nil {
		return nil
	}
	return p.user
}

// Token returns the access token p authenticated with, or nil when the
// host authenticated the user another way (see Service.Principal).
// Endpoints that act on "self" act on this token, even under Sudo. The
// result must not be modified.
func (p *Principal) Token() *Token {
	if p == nil {
		return nil
	}
	return p.token
}

// RemoteIP returns the client address p authenticated from
// (AuthRequest.RemoteIP), or "" when it is not known (Service.Principal).
// Events of the requests p makes carry it (Actor.IP).
func (p *Principal) RemoteIP() string {
	if p == nil {
		return ""
	}
	return p.ip
}

// Admin reports whether p acts as an administrator: the user is one and,
// when the instance runs in admin mode, the token holds the admin_mode
// scope (or the session entered admin mode, see Service.Principal).
func (p *Principal) Admin() bool { return p != nil && p.admin }

// Sudoer returns the administrator who used Sudo to act as User, or nil.
func (p *Principal) Sudoer() *User {
	if p == nil {
		return nil
	}
	return p.sudoer
}

// Action is something a principal may be allowed to do to a target.
type Action int

// The actions of the token API.
const (
	// ReadUserTokens: list, get or rotate by ID the tokens of Target.OwnerID.
	ReadUserTokens Action = iota + 1
	// RevokeToken: revoke the personal or impersonation token Target.Token.
	RevokeToken
	// CreateUserToken: create a personal access token for another user.
	CreateUserToken
	// CreateOwnToken: create a limited personal access token for oneself.
	CreateOwnToken
	// ManageImpersonation: list, get, create and revoke impersonation tokens.
	ManageImpersonation
	// ReadResourceTokens: list and get the access tokens of Target.Resource.
	ReadResourceTokens
	// CreateResourceToken: create an access token of Target.Resource.
	CreateResourceToken
	// RotateResourceToken: rotate an access token of Target.Resource.
	RotateResourceToken
	// RevokeResourceToken: revoke the access token Target.Token of
	// Target.Resource, whose bot user is Target.Bot.
	RevokeResourceToken
	// ManageAnyToken: identify or revoke any token of the instance by its
	// secret (the token information API).
	ManageAnyToken
	// ReadCurrentUser: see oneself (GET /user) and one's token's
	// associations.
	ReadCurrentUser
	// ReadUser: see a user by ID (GET /users/:id).
	ReadUser
	// ListUsers: list or search users (GET /users without a username;
	// with one, anyone may look a user up).
	ListUsers
)

// Target is what an Action applies to. Only the fields an action needs are
// read.
type Target struct {
	// OwnerID is the user whose tokens are read.
	OwnerID int64
	// Token is the token revoked.
	Token *Token
	// Resource is the project or group, and Level the principal's access
	// level in it.
	Resource *Resource
	Level    AccessLevel
	// Bot is the bot user of Token, named in a refused resource revocation.
	Bot *User
}

// Allowed reports whether p may perform a on t. It is GitLab's policy as a
// pure function: it does no I/O and keeps no state. Blocked users and the
// zero Principal are never allowed anything.
//
//   - Administrators read, revoke and rotate every token, create tokens for
//     any user, manage impersonation tokens, and identify or revoke any
//     token by its secret.
//   - A user reads and rotates their own tokens, and revokes them unless
//     they are impersonation tokens.
//   - Any user except a bot creates limited tokens for themselves.
//   - Project access tokens need Maintainer (40) or more, group access
//     tokens Owner (50); creating and rotating them also needs the resource
//     to allow token creation and a caller who is not a bot.
//   - Any user, bots included, sees themselves and other users, and lists
//     and searches users. Which projects and groups a user sees is the
//     ResourceDirectory's decision, not an Action.
func Allowed(p *Principal, a Action, t Target) bool {
	if p == nil || p.user == nil || p.user.Blocked {
		return false
	}
	switch a {
	case ReadUserTokens:
		return p.admin || p.user.ID == t.OwnerID
	case RevokeToken:
		return t.Token != nil && (p.admin || p.user.ID == t.Token.UserID && !t.Token.Impersonation)
	case CreateUserToken, ManageImpersonation, ManageAnyToken:
		return p.admin
	case CreateOwnToken:
		return !p.user.Bot
	case ReadResourceTokens, RevokeResourceToken:
		return t.Resource != nil && (p.admin || t.Level >= managerLevel(t.Resource.Type))
	case CreateResourceToken, RotateResourceToken:
		return t.Resource != nil && !t.Resource.TokenCreationDisabled && !p.user.Bot &&
			(p.admin || t.Level >= managerLevel(t.Resource.Type))
	case ReadCurrentUser, ReadUser, ListUsers:
		return true
	}
	return false
}

// Authorize is Allowed with GitLab's answer: nil when p may perform a on t,
// otherwise the *Error GitLab gives for the refusal. The zero Principal
// gets ErrUnauthorized, except for ReadUser and ListUsers, which GitLab
// refuses anonymous callers with 403.
//
//	ReadUserTokens        ErrUnauthorized (GitLab hides whose tokens exist)
//	RevokeToken           ErrBadRequest "Not permitted to revoke"
//	CreateUserToken       ErrForbidden
//	CreateOwnToken        ErrInvalid, base "Not permitted to create"
//	ManageImpersonation   ErrForbidden
//	ReadResourceTokens    ErrUnauthorized
//	CreateResourceToken   ErrBadRequest "User does not have permission to create project access token"
//	RotateResourceToken   ErrNotFound for administrators, else ErrUnauthorized
//	RevokeResourceToken   ErrBadRequest "<caller's name> cannot delete <bot's name>"
//	ManageAnyToken        ErrForbidden
//	ReadCurrentUser       ErrUnauthorized
//	ReadUser              ErrForbidden "Not authorized!"
//	ListUsers             ErrForbidden "Not authorized to access /api/v4/users"
//
// The Service calls it for every decision, and package httpapi for the
// checks GitLab makes before it reads parameters, so both answer alike.
func Authorize(p *Principal, a Action, t Target) error {
	if Allowed(p, a, t) {
		return nil
	}
	switch a {
	case ReadUser:
		return newError(ErrForbidden, "Not authorized!")
	case ListUsers:
		return newError(ErrForbidden, "Not authorized to access /api/v4/users")
	}
	if p == nil || p.user == nil {
		return newError(ErrUnauthorized, "")
	}
	switch a {
	case RevokeToken:
		return newError(ErrBadRequest, "Not permitted to revoke")
	case CreateUserToken, ManageImpersonation, ManageAnyToken:
		return newError(ErrForbidden, "")
	case CreateOwnToken:
		return invalid(FieldError{"base", "Not permitted to create"})
	case CreateResourceToken:
		typ := ResourceProject
		if t.Resource != nil {
			typ = t.Resource.Type
		}
		return newError(ErrBadRequest, fmt.Sprintf("User does not have permission to create %s access token", typ))
	case RotateResourceToken:
		return hidden(p)
	case RevokeResourceToken:
		bot := ""
		if t.Bot != nil {
			bot = t.Bot.Name
		}
		return newError(ErrBadRequest, p.user.Name+" cannot delete "+bot)
	}
	return newError(ErrUnauthorized, "")
}

// hidden is GitLab's answer when a token is missing or p may not see it,
// so that the two cannot be told apart: 404 for administrators (who see
// every token), 401 for everyone else.
func hidden(p *Principal) *Error {
	if p.Admin() {
		return newError(ErrNotFound, "Not Found")
	}
	return newError(ErrUnauthorized, "")
}

// GrantableLevels returns the access levels p may give a new project or
// group access token in a resource of type typ where p's own level is
// level, in ascending order (GitLab's rule on creating them): every level
// of ValidTokenLevel for an administrator or an Owner of the resource;
// otherwise the levels up to p's own, without Owner on a project. It does
// not check that p may create tokens there at all (CreateResourceToken).
func GrantableLevels(p *Principal, typ ResourceType, level AccessLevel) []AccessLevel {
	var out []AccessLevel
	for _, l := range []AccessLevel{Guest, Planner, Reporter, Developer, Maintainer, Owner} {
		if grantRefusal(p, typ, level, l) == nil {
			out = append(out, l)
		}
	}
	return out
}

// grantRefusal is GitLab's refusal when p, at level in a resource of type
// typ, asks for a token at want, or nil when p may grant it.
func grantRefusal(p *Principal, typ ResourceType, level, want AccessLevel) *Error {
	if p.Admin() || level >= Owner {
		return nil
	}
	if typ == ResourceProject && want == Owner {
		return newError(ErrBadRequest, "Could not provision owner access to project access token")
	}
	if want > level {
		return newError(ErrBadRequest, "Access level of the token can't be greater the access level of the user who created the token")
	}
	return nil
}

// managerLevel is the level that administers a resource's access tokens:
// Maintainer for projects (admin_project), Owner for groups (admin_group).
func managerLevel(t ResourceType) AccessLevel {
	if t == ResourceGroup {
		return Owner
	}
	return Maintainer
}

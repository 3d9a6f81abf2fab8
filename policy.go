package patkit

// Principal is who is making a request: the user, the token they
// authenticated with, and whether they act as an administrator.
type Principal struct {
	// User is the acting user; with Sudo, the impersonated user.
	User *User
	// Token is the authenticating access token, or nil when the host
	// authenticated the user another way (a session, say). Endpoints that act
	// on "self" act on this token, even under Sudo.
	Token *Token
	// Admin reports whether User acts as an administrator: an administrator,
	// and, when the instance runs in admin mode, authenticated with a token
	// holding the admin_mode scope.
	Admin bool
	// Sudoer is the administrator who used Sudo to act as User, or nil.
	Sudoer *User
}

// Action is something a principal may be allowed to do to a target.
type Action int

// The actions of the token API (SPEC §9).
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
	// CreateResourceToken: create or rotate an access token of Target.Resource.
	CreateResourceToken
	// RevokeResourceToken: revoke an access token of Target.Resource.
	RevokeResourceToken
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
}

// Allowed reports whether p may perform a on t. It is GitLab's policy as a
// pure function: it does no I/O and keeps no state. Blocked users and a nil
// principal are never allowed anything.
//
//   - Administrators read, revoke and rotate every token, create tokens for
//     any user and manage impersonation tokens.
//   - A user reads and rotates their own tokens, and revokes them unless
//     they are impersonation tokens.
//   - Any user except a bot creates limited tokens for themselves.
//   - Project access tokens need Maintainer (40) or more, group access
//     tokens Owner (50); creating and rotating them also needs the resource
//     to allow token creation and a caller who is not a bot.
func Allowed(p *Principal, a Action, t Target) bool {
	if p == nil || p.User == nil || p.User.Blocked {
		return false
	}
	switch a {
	case ReadUserTokens:
		return p.Admin || p.User.ID == t.OwnerID
	case RevokeToken:
		return t.Token != nil && (p.Admin || p.User.ID == t.Token.UserID && !t.Token.Impersonation)
	case CreateUserToken, ManageImpersonation:
		return p.Admin
	case CreateOwnToken:
		return !p.User.Bot
	case ReadResourceTokens, RevokeResourceToken:
		return t.Resource != nil && (p.Admin || t.Level >= managerLevel(t.Resource.Type))
	case CreateResourceToken:
		return t.Resource != nil && !t.Resource.TokenCreationDisabled && !p.User.Bot &&
			(p.Admin || t.Level >= managerLevel(t.Resource.Type))
	}
	return false
}

// managerLevel is the level that administers a resource's access tokens:
// Maintainer for projects (admin_project), Owner for groups (admin_group).
func managerLevel(t ResourceType) AccessLevel {
	if t == ResourceGroup {
		return Owner
	}
	return Maintainer
}

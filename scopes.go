package patkit

import "slices"

// Scope is a token scope, such as "api" or "read_user".
type Scope string

// The scope catalogue of GitLab (lib/gitlab/auth.rb); see
// https://docs.gitlab.com/user/profile/personal_access_tokens/#personal-access-token-scopes.
const (
	ScopeAPI                  Scope = "api"
	ScopeReadAPI              Scope = "read_api"
	ScopeReadUser             Scope = "read_user"
	ScopeCreateRunner         Scope = "create_runner"
	ScopeManageRunner         Scope = "manage_runner"
	ScopeK8sProxy             Scope = "k8s_proxy"
	ScopeSelfRotate           Scope = "self_rotate"
	ScopeReadRepository       Scope = "read_repository"
	ScopeWriteRepository      Scope = "write_repository"
	ScopeReadRegistry         Scope = "read_registry"
	ScopeWriteRegistry        Scope = "write_registry"
	ScopeReadVirtualRegistry  Scope = "read_virtual_registry"
	ScopeWriteVirtualRegistry Scope = "write_virtual_registry"
	ScopeReadObservability    Scope = "read_observability"
	ScopeWriteObservability   Scope = "write_observability"
	ScopeAIFeatures           Scope = "ai_features"
	ScopeSudo                 Scope = "sudo"
	ScopeAdminMode            Scope = "admin_mode"
	ScopeReadServicePing      Scope = "read_service_ping"
)

var userScopes = []Scope{
	ScopeAPI, ScopeReadAPI, ScopeReadUser, ScopeCreateRunner, ScopeManageRunner,
	ScopeK8sProxy, ScopeSelfRotate, ScopeReadRepository, ScopeWriteRepository,
	ScopeReadRegistry, ScopeWriteRegistry, ScopeReadVirtualRegistry,
	ScopeWriteVirtualRegistry, ScopeReadObservability, ScopeWriteObservability,
	ScopeAIFeatures,
}

var adminScopes = []Scope{ScopeSudo, ScopeAdminMode, ScopeReadServicePing}

// AllScopes returns every scope a personal or impersonation token may hold
// (GitLab's all_available_scopes), in catalogue order.
func AllScopes() []Scope { return slices.Concat(userScopes, adminScopes) }

// AdminScope reports whether s may only be held by an administrator's token.
func AdminScope(s Scope) bool { return slices.Contains(adminScopes, s) }

// ResourceScopes returns the scopes a project or group access token may hold
// (GitLab's resource_bot_scopes: the non-admin scopes without read_user).
func ResourceScopes() []Scope {
	return slices.DeleteFunc(slices.Clone(userScopes), func(s Scope) bool { return s == ScopeReadUser })
}

// ScopesFor returns the scopes u may give a personal access token of their
// own on GitLab's personal access token page (Gitlab::Auth's
// available_scopes_for): every scope for an administrator, the others
// without the administrator scopes, in catalogue order. The API's
// self-service endpoint is narrower (SelfServiceScopes).
func ScopesFor(u *User) []Scope {
	if u != nil && u.Admin {
		return AllScopes()
	}
	return slices.Clone(userScopes)
}

// SelfServiceScopes returns the scopes a user may give a token created with
// POST /user/personal_access_tokens.
func SelfServiceScopes() []Scope { return []Scope{ScopeK8sProxy, ScopeSelfRotate} }

// AllowedScopes returns the scopes that pass an endpoint: the endpoint's
// own scopes, then api, then read_api when the request only reads (GET or
// HEAD). This is GitLab's rule for API endpoints; the order is the one GitLab
// reports in an insufficient_scope body.
func AllowedScopes(readOnly bool, endpoint ...Scope) []Scope {
	out := append(slices.Clone(endpoint), ScopeAPI)
	if readOnly {
		out = append(out, ScopeReadAPI)
	}
	return out
}

// CheckScopes returns nil if held includes any of allowed, and otherwise an
// *Error with code ErrInsufficientScope listing allowed. Use AllowedScopes to
// build allowed for a REST endpoint.
func CheckScopes(held, allowed []Scope) error {
	if slices.ContainsFunc(held, func(s Scope) bool { return slices.Contains(allowed, s) }) {
		return nil
	}
	return &Error{Code: ErrInsufficientScope, Scopes: slices.Clone(allowed)}
}

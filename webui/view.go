package webui

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/patkit/patkit"
)

// row is a token as a list shows it.
type row struct {
	ID          int64
	Name        string
	Description string
	Scopes      string
	Kind        string // "Personal", "Impersonation", "Project", "Group"
	Owner       string // the inventory's owner column
	Role        string // project and group tokens
	Created     string
	LastUsed    string
	Expires     string // date, or "Never"
	Due         string // "in 12 days", "expired", "revoked"
	Soon        bool   // active and expiring within a week
	Active      bool
	Revoked     bool
}

// soon is how close an expiry is flagged.
const soon = 7 * 24 * time.Hour

func (c *call) row(t *patkit.Token, now time.Time) row {
	r := row{
		ID:          t.ID,
		Name:        t.Name,
		Description: t.Description,
		Created:     t.CreatedAt.UTC().Format(time.DateOnly),
		LastUsed:    "Never",
		Expires:     "Never",
		Active:      t.Active(now),
		Revoked:     t.Revoked,
		Kind:        kindName(t),
	}
	scopes := make([]string, len(t.Scopes))
	for i, s := range t.Scopes {
		scopes[i] = string(s)
	}
	r.Scopes = strings.Join(scopes, ", ")
	if t.ResourceType != "" {
		r.Role = levelName(t.AccessLevel)
	}
	if !t.LastUsedAt.IsZero() {
		r.LastUsed = ago(now.Sub(t.LastUsedAt))
	}
	if !t.ExpiresAt.IsZero() {
		r.Expires = t.ExpiresAt.Format(time.DateOnly)
		left := t.ExpiresAt.Sub(now)
		switch {
		case t.Revoked:
		case left <= 0:
			r.Due = "expired"
		default:
			r.Due = "in " + days(left)
			r.Soon = left <= soon
		}
	}
	if t.Revoked {
		r.Due = "revoked"
	}
	return r
}

// kindName names the kind of a token.
func kindName(t *patkit.Token) string { return kindLabel(t.Kind()) }

// kindLabel names a kind of token on the pages.
func kindLabel(k patkit.Kind) string { return strings.ToUpper(string(k[:1])) + string(k[1:]) }

// days renders a positive duration in whole days, rounded up: "1 day",
// "12 days".
func days(d time.Duration) string {
	n := int((d + 24*time.Hour - 1) / (24 * time.Hour))
	if n == 1 {
		return "1 day"
	}
	return strconv.Itoa(n) + " days"
}

// ago renders how long ago something happened.
func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	}
	return plural(int(d/(24*time.Hour)), "day") + " ago"
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// levelName is GitLab's name of a role.
func levelName(l patkit.AccessLevel) string {
	switch l {
	case patkit.Guest:
		return "Guest"
	case patkit.Planner:
		return "Planner"
	case patkit.Reporter:
		return "Reporter"
	case patkit.Developer:
		return "Developer"
	case patkit.Maintainer:
		return "Maintainer"
	case patkit.Owner:
		return "Owner"
	}
	return strconv.Itoa(int(l))
}

// scopeHelp holds GitLab's one-line description of each scope, as its
// token form shows them.
var scopeHelp = map[patkit.Scope]string{
	patkit.ScopeAPI:                  "Grants complete read/write access to the API, including all groups and projects, the container registry, the dependency proxy, and the package registry.",
	patkit.ScopeReadAPI:              "Grants read access to the API, including all groups and projects, the container registry, and the package registry.",
	patkit.ScopeReadUser:             "Grants read-only access to your profile through the /user API endpoint, which includes username, public email, and full name. Also grants access to read-only API endpoints under /users.",
	patkit.ScopeCreateRunner:         "Grants create access to the runners.",
	patkit.ScopeManageRunner:         "Grants access to manage the runners.",
	patkit.ScopeK8sProxy:             "Grants permission to perform Kubernetes API calls using the agent for Kubernetes.",
	patkit.ScopeSelfRotate:           "Grants permission to rotate this token using the personal access token API.",
	patkit.ScopeReadRepository:       "Grants read-only access to repositories on private projects using Git-over-HTTP or the Repository Files API.",
	patkit.ScopeWriteRepository:      "Grants read-write access to repositories on private projects using Git-over-HTTP (not using the API).",
	patkit.ScopeReadRegistry:         "Grants read-only access to container registry images on private projects.",
	patkit.ScopeWriteRegistry:        "Grants write access to container registry images on private projects. You need both read and write access to push images.",
	patkit.ScopeReadVirtualRegistry:  "Grants read-only access to container images through the dependency proxy in private projects.",
	patkit.ScopeWriteVirtualRegistry: "Grants read, write, and delete access to container images through the dependency proxy in private projects.",
	patkit.ScopeReadObservability:    "Grants read-only access to GitLab Observability.",
	patkit.ScopeWriteObservability:   "Grants write access to GitLab Observability.",
	patkit.ScopeAIFeatures:           "Grants access to GitLab Duo related API endpoints.",
	patkit.ScopeSudo:                 "Grants permission to perform API actions as any user in the system, when authenticated as an admin user.",
	patkit.ScopeAdminMode:            "Grants permission to perform API actions as an administrator, when Admin Mode is enabled.",
	patkit.ScopeReadServicePing:      "Grant access to download Service Ping payload through the API when authenticated as an admin user.",
}

// ownerName returns the username of t's owner (a bot's for a project or
// group token), remembering it in seen.
func (c *call) ownerName(t *patkit.Token, seen map[int64]string) string {
	if n, ok := seen[t.UserID]; ok {
		return n
	}
	n := "#" + strconv.FormatInt(t.UserID, 10)
	if u, err := c.h.svc.User(c.r.Context(), c.p, t.UserID); err == nil {
		n = u.Username
	}
	seen[t.UserID] = n
	return n
}

var funcs = template.FuncMap{
	// field returns the id of a form field's error message, for
	// aria-describedby.
	"errid": func(field string) string { return "err-" + field },
	"lower": strings.ToLower,
	// dict passes several values to a template: dict "K1" v1 "K2" v2.
	"dict": func(kv ...any) map[string]any {
		m := make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
}

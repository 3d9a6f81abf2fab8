package httpapi

import (
	"net/url"
	"strings"
	"time"

	"github.com/patkit/patkit"
)

// GitLab's user entities (lib/api/entities/user_*.rb), fields in GitLab's
// order: each level embeds the one before it, and a level a response does
// not reach is a nil pointer, omitted. Fields patkit does not know are
// null, or GitLab's default for a new user where one is certain (false,
// 0, "", []).
type userEntity struct {
	userBasic
	*userFull
	*userPublic
	*userWithAdmin
	*userDetailsWithAdmin
}

// userBasic is UserSafe and UserBasic.
type userBasic struct {
	ID          int64   `json:"id"`
	Username    string  `json:"username"`
	PublicEmail *string `json:"public_email"`
	Name        string  `json:"name"`
	State       string  `json:"state"`
	Locked      bool    `json:"locked"`
	AvatarURL   *string `json:"avatar_url"`
	WebURL      string  `json:"web_url"`
}

// userFull is what User adds.
type userFull struct {
	CreatedAt       *timestamp `json:"created_at"`
	Bio             string     `json:"bio"`
	Location        string     `json:"location"`
	Skype           string     `json:"skype"`
	Linkedin        string     `json:"linkedin"`
	Twitter         string     `json:"twitter"`
	Discord         string     `json:"discord"`
	WebsiteURL      string     `json:"website_url"`
	Organization    string     `json:"organization"`
	JobTitle        string     `json:"job_title"`
	Pronouns        *string    `json:"pronouns"`
	Bot             bool       `json:"bot"`
	WorkInformation *string    `json:"work_information"`
	Followers       int        `json:"followers"`
	Following       int        `json:"following"`
	IsFollowed      bool       `json:"is_followed"`
	LocalTime       *string    `json:"local_time"`
}

// userPublic is what UserPublic adds.
type userPublic struct {
	LastSignInAt      *timestamp `json:"last_sign_in_at"`
	ConfirmedAt       *timestamp `json:"confirmed_at"`
	LastActivityOn    *date      `json:"last_activity_on"`
	Email             *string    `json:"email"`
	ThemeID           *int       `json:"theme_id"`
	ColorSchemeID     *int       `json:"color_scheme_id"`
	ProjectsLimit     *int       `json:"projects_limit"`
	CurrentSignInAt   *timestamp `json:"current_sign_in_at"`
	Identities        []struct{} `json:"identities"`
	CanCreateGroup    *bool      `json:"can_create_group"`
	CanCreateProject  *bool      `json:"can_create_project"`
	TwoFactorEnabled  bool       `json:"two_factor_enabled"`
	External          bool       `json:"external"`
	PrivateProfile    bool       `json:"private_profile"`
	CommitEmail       *string    `json:"commit_email"`
	PreferredLanguage *string    `json:"preferred_language"`
}

// userWithAdmin is what UserWithAdmin adds.
type userWithAdmin struct {
	IsAdmin             bool       `json:"is_admin"`
	Note                *string    `json:"note"`
	NamespaceID         *int64     `json:"namespace_id"`
	CreatedBy           *userBasic `json:"created_by"`
	EmailResetOfferedAt *timestamp `json:"email_reset_offered_at"`
}

// userDetailsWithAdmin is what UserDetailsWithAdmin adds.
type userDetailsWithAdmin struct {
	HighestRole     int     `json:"highest_role"`
	CurrentSignInIP *string `json:"current_sign_in_ip"`
	LastSignInIP    *string `json:"last_sign_in_ip"`
	SignInCount     int     `json:"sign_in_count"`
}

// userLevel is how much of a user an endpoint shows.
type userLevel int

const (
	levelBasic            userLevel = iota // UserBasic: GET /users
	levelUser                              // User: GET /users/:id
	levelPublic                            // UserPublic: GET /user
	levelWithAdmin                         // UserWithAdmin
	levelDetailsWithAdmin                  // UserDetailsWithAdmin
)

// newUserEntity renders u at level; base is the external URL.
func newUserEntity(u *patkit.User, level userLevel, base string) *userEntity {
	e := &userEntity{userBasic: userBasic{
		ID:       u.ID,
		Username: u.Username,
		Name:     u.Name,
		State:    "active",
		WebURL:   base + "/" + u.Username,
	}}
	if u.Blocked {
		e.State = "blocked"
	}
	if level >= levelUser {
		e.userFull = &userFull{Bot: u.Bot}
	}
	if level >= levelPublic {
		e.userPublic = &userPublic{Identities: []struct{}{}}
	}
	if level >= levelWithAdmin {
		e.userWithAdmin = &userWithAdmin{IsAdmin: u.Admin}
	}
	if level >= levelDetailsWithAdmin {
		e.userDetailsWithAdmin = &userDetailsWithAdmin{}
	}
	return e
}

// namespaceEntity is NamespaceBasic.
type namespaceEntity struct {
	ID        int64   `json:"id"`
	Name      string  `json:"name"`
	Path      string  `json:"path"`
	Kind      string  `json:"kind"`
	FullPath  string  `json:"full_path"`
	ParentID  *int64  `json:"parent_id"`
	AvatarURL *string `json:"avatar_url"`
	WebURL    string  `json:"web_url"`
}

func newNamespaceEntity(ns *patkit.Namespace, base string) *namespaceEntity {
	if ns == nil {
		return nil
	}
	e := &namespaceEntity{ID: ns.ID, Name: ns.Name, Path: ns.Path, Kind: ns.Kind, FullPath: ns.FullPath,
		WebURL: base + "/" + escapePath(ns.FullPath)}
	if ns.Kind == "group" {
		e.WebURL = base + "/groups/" + escapePath(ns.FullPath)
	}
	if ns.ParentID != 0 {
		e.ParentID = new(ns.ParentID)
	}
	return e
}

// escapePath escapes each segment of a full path for a URL.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// access is a level in ProjectWithAccess's permissions.
type access struct {
	AccessLevel       int `json:"access_level"`
	NotificationLevel int `json:"notification_level"`
}

// notificationGlobal is GitLab's notification level "global", a new
// member's default.
const notificationGlobal = 3

func newAccess(l patkit.AccessLevel) *access {
	if l == patkit.NoAccess {
		return nil
	}
	return &access{int(l), notificationGlobal}
}

// projectEntity is ProjectDetails (anonymous callers) and ProjectWithAccess
// (the others, with permissions), as far as patkit knows a project: it has
// no repository, so default_branch, readme_url and forks_count are left
// out, as GitLab leaves them out for callers who may not read code, and the
// clone URLs are null.
type projectEntity struct {
	ID                int64            `json:"id"`
	Description       *string          `json:"description"`
	Name              string           `json:"name"`
	NameWithNamespace string           `json:"name_with_namespace"`
	Path              string           `json:"path"`
	PathWithNamespace string           `json:"path_with_namespace"`
	CreatedAt         *timestamp       `json:"created_at"`
	TagList           []string         `json:"tag_list"`
	Topics            []string         `json:"topics"`
	SSHURLToRepo      *string          `json:"ssh_url_to_repo"`
	HTTPURLToRepo     *string          `json:"http_url_to_repo"`
	WebURL            string           `json:"web_url"`
	AvatarURL         *string          `json:"avatar_url"`
	StarCount         int              `json:"star_count"`
	LastActivityAt    *timestamp       `json:"last_activity_at"`
	Namespace         *namespaceEntity `json:"namespace"`
	Visibility        string           `json:"visibility"`
	Permissions       *permissions     `json:"permissions,omitempty"`
}

type permissions struct {
	ProjectAccess *access `json:"project_access"`
	GroupAccess   *access `json:"group_access"`
}

func visibility(r *patkit.Resource) string {
	if r.Public {
		return "public"
	}
	return "private"
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return new(s)
}

func optTime(t time.Time) *timestamp {
	if t.IsZero() {
		return nil
	}
	return new(timestamp(t))
}

func newProjectEntity(v *patkit.ResourceView, signedIn bool, base string) *projectEntity {
	e := &projectEntity{
		ID:                v.ID,
		Description:       optString(v.Description),
		Name:              v.DisplayName(),
		NameWithNamespace: v.FullName,
		Path:              v.Path(),
		PathWithNamespace: v.FullPath,
		CreatedAt:         optTime(v.CreatedAt),
		TagList:           []string{},
		Topics:            []string{},
		WebURL:            base + "/" + escapePath(v.FullPath),
		LastActivityAt:    optTime(v.CreatedAt),
		Namespace:         newNamespaceEntity(v.Namespace, base),
		Visibility:        visibility(&v.Resource),
	}
	if signedIn {
		e.Permissions = &permissions{newAccess(v.Level), newAccess(v.NamespaceLevel)}
	}
	return e
}

// groupEntity is Group: GroupDetail without projects and shared_projects
// (patkit does not list a group's projects; GitLab leaves them out with
// with_projects=false). Settings patkit does not know have GitLab's
// defaults for a new group.
type groupEntity struct {
	ID                             int64          `json:"id"`
	WebURL                         string         `json:"web_url"`
	Name                           string         `json:"name"`
	Path                           string         `json:"path"`
	Description                    *string        `json:"description"`
	Visibility                     string         `json:"visibility"`
	ShareWithGroupLock             bool           `json:"share_with_group_lock"`
	RequireTwoFactorAuthentication bool           `json:"require_two_factor_authentication"`
	TwoFactorGracePeriod           int            `json:"two_factor_grace_period"`
	ProjectCreationLevel           string         `json:"project_creation_level"`
	AutoDevopsEnabled              *bool          `json:"auto_devops_enabled"`
	SubgroupCreationLevel          string         `json:"subgroup_creation_level"`
	EmailsDisabled                 bool           `json:"emails_disabled"`
	EmailsEnabled                  bool           `json:"emails_enabled"`
	MentionsDisabled               *bool          `json:"mentions_disabled"`
	LFSEnabled                     bool           `json:"lfs_enabled"`
	MathRenderingLimitsEnabled     bool           `json:"math_rendering_limits_enabled"`
	LockMathRenderingLimitsEnabled bool           `json:"lock_math_rendering_limits_enabled"`
	DefaultBranch                  *string        `json:"default_branch"`
	DefaultBranchProtection        int            `json:"default_branch_protection"`
	DefaultBranchProtectionDefault branchDefaults `json:"default_branch_protection_defaults"`
	AvatarURL                      *string        `json:"avatar_url"`
	RequestAccessEnabled           bool           `json:"request_access_enabled"`
	FullName                       string         `json:"full_name"`
	FullPath                       string         `json:"full_path"`
	CreatedAt                      *timestamp     `json:"created_at"`
	ParentID                       *int64         `json:"parent_id"`
	OrganizationID                 int64          `json:"organization_id"`
	SharedRunnersSetting           string         `json:"shared_runners_setting"`
	MaxArtifactsSize               *int           `json:"max_artifacts_size"`
	Archived                       bool           `json:"archived"`
	MarkedForDeletionOn            *date          `json:"marked_for_deletion_on"`
}

// branchDefaults is default_branch_protection_defaults.
type branchDefaults struct {
	AllowedToPush           []accessLevelEntry `json:"allowed_to_push"`
	AllowForcePush          bool               `json:"allow_force_push"`
	AllowedToMerge          []accessLevelEntry `json:"allowed_to_merge"`
	DeveloperCanInitialPush bool               `json:"developer_can_initial_push"`
}

type accessLevelEntry struct {
	AccessLevel int `json:"access_level"`
}

// fullyProtected is GitLab's default branch protection for a new group
// (default_branch_protection 2): Maintainers push and merge, no force
// push.
var fullyProtected = branchDefaults{
	AllowedToPush:  []accessLevelEntry{{int(patkit.Maintainer)}},
	AllowedToMerge: []accessLevelEntry{{int(patkit.Maintainer)}},
}

// defaultOrganizationID is the ID of GitLab's default organization, which
// every group belongs to on an instance without organizations.
const defaultOrganizationID = 1

func optID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return new(id)
}

func newGroupEntity(v *patkit.ResourceView, base string) *groupEntity {
	return &groupEntity{
		ID:                             v.ID,
		WebURL:                         base + "/groups/" + escapePath(v.FullPath),
		Name:                           v.DisplayName(),
		Path:                           v.Path(),
		Description:                    optString(v.Description),
		Visibility:                     visibility(&v.Resource),
		TwoFactorGracePeriod:           48,
		ProjectCreationLevel:           "developer",
		SubgroupCreationLevel:          "maintainer",
		EmailsEnabled:                  true,
		LFSEnabled:                     true,
		MathRenderingLimitsEnabled:     true,
		DefaultBranchProtection:        2,
		DefaultBranchProtectionDefault: fullyProtected,
		RequestAccessEnabled:           true,
		FullName:                       v.FullName,
		FullPath:                       v.FullPath,
		CreatedAt:                      optTime(v.CreatedAt),
		ParentID:                       optID(v.ParentID),
		OrganizationID:                 defaultOrganizationID,
		SharedRunnersSetting:           "enabled",
	}
}

// groupAssociation is GroupAssociationDetails.
type groupAssociation struct {
	ID             int64  `json:"id"`
	WebURL         string `json:"web_url"`
	Name           string `json:"name"`
	ParentID       *int64 `json:"parent_id"`
	OrganizationID int64  `json:"organization_id"`
	AccessLevels   *int   `json:"access_levels"`
	Visibility     string `json:"visibility"`
}

// projectAssociation is ProjectAssociationDetails.
type projectAssociation struct {
	ID                int64            `json:"id"`
	Description       *string          `json:"description"`
	Name              string           `json:"name"`
	NameWithNamespace string           `json:"name_with_namespace"`
	Path              string           `json:"path"`
	PathWithNamespace string           `json:"path_with_namespace"`
	CreatedAt         *timestamp       `json:"created_at"`
	AccessLevels      projectLevels    `json:"access_levels"`
	Visibility        string           `json:"visibility"`
	WebURL            string           `json:"web_url"`
	Namespace         *namespaceEntity `json:"namespace"`
}

type projectLevels struct {
	ProjectAccessLevel *int `json:"project_access_level"`
	GroupAccessLevel   *int `json:"group_access_level"`
}

func optLevel(l patkit.AccessLevel) *int {
	if l == patkit.NoAccess {
		return nil
	}
	return new(int(l))
}

type associationsEntity struct {
	Groups   []groupAssociation   `json:"groups"`
	Projects []projectAssociation `json:"projects"`
}

func newAssociations(a *patkit.Associations, base string) *associationsEntity {
	e := &associationsEntity{
		Groups:   make([]groupAssociation, len(a.Groups)),
		Projects: make([]projectAssociation, len(a.Projects)),
	}
	for i, v := range a.Groups {
		e.Groups[i] = groupAssociation{
			ID:             v.ID,
			WebURL:         base + "/groups/" + escapePath(v.FullPath),
			Name:           v.DisplayName(),
			ParentID:       optID(v.ParentID),
			OrganizationID: defaultOrganizationID,
			AccessLevels:   optLevel(v.Level),
			Visibility:     visibility(&v.Resource),
		}
	}
	for i, v := range a.Projects {
		e.Projects[i] = projectAssociation{
			ID:                v.ID,
			Description:       optString(v.Description),
			Name:              v.DisplayName(),
			NameWithNamespace: v.FullName,
			Path:              v.Path(),
			PathWithNamespace: v.FullPath,
			CreatedAt:         optTime(v.CreatedAt),
			AccessLevels:      projectLevels{optLevel(v.Level), optLevel(v.NamespaceLevel)},
			Visibility:        visibility(&v.Resource),
			WebURL:            base + "/" + escapePath(v.FullPath),
			Namespace:         newNamespaceEntity(v.Namespace, base),
		}
	}
	return e
}

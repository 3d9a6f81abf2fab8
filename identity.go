package patkit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Identity lookups: the user, project and group lookups GitLab's clients
// make before they manage tokens (GET /user, /users, /users/:id,
// /projects/:id, /groups/:id and /personal_access_tokens/self/associations).
// The Service decides who may see what; package httpapi renders GitLab's
// entities.

// UserView is a user as a lookup shows it to its caller.
type UserView struct {
	*User
	// AdminFields: the caller may see the administrator fields of GitLab's
	// user entities (is_admin, note and the like).
	AdminFields bool
}

// UserQuery selects users for Service.Users (GET /users). A Directory that
// is a UserSearcher receives it normalized.
type UserQuery struct {
	// Username, when not empty, selects the user of that username,
	// compared without regard to case: 0 or 1 users.
	Username string
	// Search, when not empty, matches a part of the username or the name
	// without regard to case (and, in a host's own UserSearcher, the whole
	// email address).
	Search string
	// Active keeps users who are not blocked; Blocked keeps blocked ones.
	Active, Blocked bool
	// Admins keeps administrators. The Service sets it only for callers
	// acting as administrators, as GitLab ignores it for others.
	Admins bool
	// WithoutProjectBots leaves out the bot users of project and group
	// access tokens.
	WithoutProjectBots bool
	// Page counts from 1; PerPage defaults to 20 and is capped at 100.
	Page, PerPage int
}

// normalize applies the paging defaults and bounds of GitLab.
func (q *UserQuery) normalize() {
	q.Page = min(max(q.Page, 1), MaxPage)
	if q.PerPage < 1 {
		q.PerPage = 20
	}
	q.PerPage = min(q.PerPage, 100)
}

// Offset returns the number of users before q's page.
func (q *UserQuery) Offset() int { return (q.Page - 1) * q.PerPage }

// Match reports whether u passes q's username, search and filters (not
// its paging). It defines what a UserSearcher answers.
func (q *UserQuery) Match(u *User) bool {
	switch {
	case q.Username != "" && !strings.EqualFold(u.Username, q.Username),
		q.Search != "" && !containsFold(u.Username, q.Search) && !containsFold(u.Name, q.Search),
		q.Active && u.Blocked,
		q.Blocked && !u.Blocked,
		q.Admins && !u.Admin,
		q.WithoutProjectBots && u.Bot:
		return false
	}
	return true
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// UserPage is one page of users.
type UserPage struct {
	Users []*User
	// Total is the number of matching users.
	Total         int
	Page, PerPage int
	// AdminFields: the caller may see the administrator fields.
	AdminFields bool
}

// CurrentUser returns the user p acts as (GET /user): the token's owner,
// the impersonated user for an impersonation token, the bot user for a
// project or group access token, the Sudo target under Sudo. Administrator
// fields are shown when that user is an administrator, whether or not p
// acts as one (GitLab checks the admin flag here, not admin mode).
// Anonymous callers get ErrUnauthorized.
func (s *Service) CurrentUser(p *Principal) (*UserView, error) {
	if err := Authorize(p, ReadCurrentUser, Target{}); err != nil {
		return nil, err
	}
	return &UserView{User: p.user, AdminFields: p.user.Admin}, nil
}

// User returns a user by ID (GET /users/:id). Anonymous callers get
// ErrForbidden ("Not authorized!"); a user that does not exist
// ErrNotFound ("User Not Found"). Administrators see administrator fields.
func (s *Service) User(ctx context.Context, p *Principal, id int64) (*UserView, error) {
	if err := Authorize(p, ReadUser, Target{}); err != nil {
		return nil, err
	}
	if id <= 0 {
		return nil, newError(ErrNotFound, "User Not Found")
	}
	u, err := s.user(ctx, id, "User Not Found")
	if err != nil {
		return nil, err
	}
	return &UserView{User: u, AdminFields: p.Admin()}, nil
}

// Users lists users (GET /users). A Username selects 0 or 1 users and may
// be asked anonymously; anything else needs a signed-in caller
// (ErrForbidden "Not authorized to access /api/v4/users" otherwise).
// Searches and lists without a username need a Directory that is a
// UserSearcher: without one, a Search is answered with the user of that
// username, and a list without Search with no users. Administrators see
// administrator fields.
func (s *Service) Users(ctx context.Context, p *Principal, q UserQuery) (*UserPage, error) {
	if strings.TrimSpace(q.Username) == "" {
		q.Username = ""
		if err := Authorize(p, ListUsers, Target{}); err != nil {
			return nil, err
		}
	}
	if !p.Admin() {
		q.Admins = false
	}
	q.normalize()
	pg := &UserPage{Page: q.Page, PerPage: q.PerPage, AdminFields: p.Admin()}
	us, searcher := s.dir.(UserSearcher)
	if q.Username == "" && searcher {
		users, total, err := us.SearchUsers(ctx, &q)
		if err != nil {
			return nil, fmt.Errorf("patkit: search users: %w", err)
		}
		if slices.Contains(users, nil) {
			return nil, errors.New("patkit: Directory.SearchUsers returned a nil user")
		}
		pg.Users, pg.Total = users, total
		return pg, nil
	}
	name := q.Username
	if name == "" {
		name = q.Search // without a UserSearcher: the exact username
		if name == "" {
			return pg, nil
		}
	}
	u, err := s.userByUsername(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return pg, nil
	}
	if err != nil {
		return nil, fmt.Errorf("patkit: find user: %w", err)
	}
	if q.Match(u) {
		pg.Total = 1
		if q.Page == 1 {
			pg.Users = []*User{u}
		}
	}
	return pg, nil
}

// ResourceView is a project or group as a lookup shows it to its caller.
type ResourceView struct {
	Resource
	// Level is the caller's access level in the resource, NoAccess for an
	// anonymous caller or one who is not a member.
	Level AccessLevel
	// FullName is the names of the resource's ancestors and its own,
	// joined by " / " (GitLab's full_name and name_with_namespace).
	FullName string
	// Namespace is the group or user a project belongs to (nil for a
	// group, or for a project whose FullPath has no "/").
	Namespace *Namespace
	// ParentID is the ID of a group's parent group, 0 for a top-level
	// group or one whose parent the Directory does not know.
	ParentID int64
	// NamespaceLevel is the caller's level in a project's group, NoAccess
	// when the project belongs to a user.
	NamespaceLevel AccessLevel
}

// Namespace is where a project lives: a group, or a user's personal
// namespace.
type Namespace struct {
	// ID is the group's ID; for a personal namespace, the user's ID (GitLab
	// numbers namespaces apart from users; patkit knows only users), and
	// 0 when the Directory knows neither a group nor a user of that path.
	ID       int64
	Name     string
	Path     string
	FullPath string
	// Kind is "group" or "user".
	Kind string
	// ParentID is the parent group's ID, 0 at the top level.
	ParentID int64
}

// Resource returns a project or group by numeric ID or full path as p
// sees it (GET /projects/:id and GET /groups/:id). Anonymous callers (a
// nil p, or one without a user) see what the ResourceDirectory shows
// them, public resources in MemDirectory. A resource that does not exist,
// that p may not see, or a Directory without the ResourceDirectory ability
// is ErrNotFound ("Project Not Found", "Group Not Found").
func (s *Service) Resource(ctx context.Context, p *Principal, typ ResourceType, ref string) (*ResourceView, error) {
	if p.User() == nil {
		return s.anonymousResource(ctx, typ, ref)
	}
	if p.user.Blocked { // a Principal never holds one; a hand-made one might
		return nil, newError(ErrUnauthorized, "")
	}
	r, level, err := s.resource(ctx, p, typ, ref, 0)
	if err != nil {
		return nil, err
	}
	return s.view(ctx, p, r, level)
}

func (s *Service) anonymousResource(ctx context.Context, typ ResourceType, ref string) (*ResourceView, error) {
	rd, ok := s.dir.(ResourceDirectory)
	if !ok || typ != ResourceProject && typ != ResourceGroup {
		return nil, newError(ErrNotFound, resourceLabel(typ)+" Not Found")
	}
	r, err := dirResource(ctx, rd, &Principal{}, typ, ref)
	if errors.Is(err, ErrNotFound) {
		return nil, newError(ErrNotFound, resourceLabel(typ)+" Not Found")
	}
	if err != nil {
		return nil, fmt.Errorf("patkit: find %s: %w", typ, err)
	}
	return s.view(ctx, nil, r, NoAccess)
}

// view completes a resource p sees at level with its ancestry.
func (s *Service) view(ctx context.Context, p *Principal, r *Resource, level AccessLevel) (*ResourceView, error) {
	v := &ResourceView{Resource: *r, Level: level}
	rd := s.dir.(ResourceDirectory) // r came from it
	// The chain of parent groups, nearest first, as far as the Directory
	// knows it.
	var names []string
	parentPath, _, hasParent := cutLast(r.FullPath)
	first := true
	for hasParent {
		g, err := dirResource(ctx, rd, nil, ResourceGroup, parentPath)
		if errors.Is(err, ErrNotFound) {
			name := parentPath[strings.LastIndexByte(parentPath, '/')+1:]
			if first && r.Type == ResourceProject {
				ns, err := s.userNamespace(ctx, parentPath)
				if err != nil {
					return nil, err
				}
				v.Namespace, name = ns, ns.Name
			}
			names = append(names, name)
			parentPath, _, hasParent = cutLast(parentPath)
			first = false
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("patkit: find group: %w", err)
		}
		if first {
			if r.Type == ResourceGroup {
				v.ParentID = g.ID
			} else {
				v.Namespace = &Namespace{ID: g.ID, Name: g.DisplayName(), Path: g.Path(), FullPath: g.FullPath, Kind: "group"}
				if p.User() != nil {
					l, err := rd.AccessLevel(ctx, p.user.ID, g)
					if err != nil {
						return nil, fmt.Errorf("patkit: access level: %w", err)
					}
					v.NamespaceLevel = l
				}
			}
		}
		names = append(names, g.DisplayName())
		parentPath, _, hasParent = cutLast(parentPath)
		if first && v.Namespace != nil && hasParent {
			if pg, err := dirResource(ctx, rd, nil, ResourceGroup, parentPath); err == nil {
				v.Namespace.ParentID = pg.ID
			}
		}
		first = false
	}
	var b strings.Builder
	for i := len(names) - 1; i >= 0; i-- {
		b.WriteString(names[i])
		b.WriteString(" / ")
	}
	b.WriteString(r.DisplayName())
	v.FullName = b.String()
	return v, nil
}

// userNamespace is the personal namespace of path, or a namespace known
// by its path alone.
func (s *Service) userNamespace(ctx context.Context, path string) (*Namespace, error) {
	ns := &Namespace{Name: path, Path: path, FullPath: path, Kind: "user"}
	if strings.Contains(path, "/") {
		ns.Kind = "group"
		ns.Path = path[strings.LastIndexByte(path, '/')+1:]
		ns.Name = ns.Path
		return ns, nil
	}
	u, err := s.dirUserByUsername(ctx, path)
	if errors.Is(err, ErrNotFound) {
		ns.Kind = "group"
		return ns, nil
	}
	if err != nil {
		return nil, fmt.Errorf("patkit: find user: %w", err)
	}
	ns.ID, ns.Name, ns.Path, ns.FullPath = u.ID, u.Name, u.Username, u.Username
	return ns, nil
}

// cutLast splits "a/b/c" into "a/b" and "c"; ok is false without a "/".
func cutLast(path string) (parent, last string, ok bool) {
	i := strings.LastIndexByte(path, '/')
	if i < 0 {
		return "", path, false
	}
	return path[:i], path[i+1:], true
}

// Associations are the groups and projects of a token's user (GET
// /personal_access_tokens/self/associations), each list one page of the
// same number and size.
type Associations struct {
	Groups   []*ResourceView
	Projects []*ResourceView
	// GroupsTotal and ProjectsTotal count the memberships in all.
	GroupsTotal, ProjectsTotal int
	Page, PerPage              int
}

// Associations lists the groups and projects of which the user p's token
// authenticates is a member, at minLevel or above (NoAccess: every
// membership). Only a principal that authenticated with an access token
// may ask (ErrBadRequest "This endpoint requires token type to be a
// personal access token" otherwise; ErrUnauthorized when anonymous).
// Memberships come from a Directory that is a MembershipDirectory; without
// one both lists are empty. A bot user the Service manages (see
// BotDirectory) has its token's resource as its one membership.
func (s *Service) Associations(ctx context.Context, p *Principal, minLevel AccessLevel, page, perPage int) (*Associations, error) {
	if err := Authorize(p, ReadCurrentUser, Target{}); err != nil {
		return nil, err
	}
	if p.token == nil {
		return nil, newError(ErrBadRequest, "This endpoint requires token type to be a personal access token")
	}
	q := UserQuery{Page: page, PerPage: perPage}
	q.normalize()
	a := &Associations{Page: q.Page, PerPage: q.PerPage}
	rd, ok := s.dir.(ResourceDirectory)
	if !ok {
		return a, nil
	}
	if md, ok := s.dir.(MembershipDirectory); ok {
		for _, typ := range []ResourceType{ResourceGroup, ResourceProject} {
			rs, total, err := md.Memberships(ctx, p.user.ID, typ, minLevel, q.Offset(), q.PerPage)
			if err != nil {
				return nil, fmt.Errorf("patkit: memberships: %w", err)
			}
			views := make([]*ResourceView, 0, len(rs))
			for _, r := range rs {
				if r == nil || r.Type != typ {
					return nil, fmt.Errorf("patkit: Directory.Memberships(%s) returned %v", typ, r)
				}
				l, err := rd.AccessLevel(ctx, p.user.ID, r)
				if err != nil {
					return nil, fmt.Errorf("patkit: access level: %w", err)
				}
				v, err := s.view(ctx, p, r, l)
				if err != nil {
					return nil, err
				}
				views = append(views, v)
			}
			if typ == ResourceGroup {
				a.Groups, a.GroupsTotal = views, total
			} else {
				a.Projects, a.ProjectsTotal = views, total
			}
		}
		if a.GroupsTotal+a.ProjectsTotal > 0 {
			return a, nil
		}
	}
	// A bot the Service manages is a member of its token's resource only,
	// which the Directory does not know it is.
	t := p.token
	if t.ResourceType == "" || t.UserID != p.user.ID || t.AccessLevel < minLevel || q.Page != 1 {
		return a, nil
	}
	if _, err := s.dirUserByID(ctx, p.user.ID); !errors.Is(err, ErrNotFound) {
		return a, nil // the host's own bot: the Directory answered for it
	}
	r, err := dirResource(ctx, rd, nil, t.ResourceType, fmt.Sprint(t.ResourceID))
	if errors.Is(err, ErrNotFound) {
		return a, nil
	}
	if err != nil {
		return nil, fmt.Errorf("patkit: find %s: %w", t.ResourceType, err)
	}
	v, err := s.view(ctx, p, r, t.AccessLevel)
	if err != nil {
		return nil, err
	}
	if t.ResourceType == ResourceGroup {
		a.Groups, a.GroupsTotal = []*ResourceView{v}, 1
	} else {
		a.Projects, a.ProjectsTotal = []*ResourceView{v}, 1
	}
	return a, nil
}

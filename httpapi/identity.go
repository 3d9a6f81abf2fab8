package httpapi

import (
	"net/http"
	"regexp"
	"strconv"

	"github.com/patkit/patkit"
)

// The identity lookups GitLab's clients make before they manage tokens:
// the Service decides, these handlers read parameters and render.

func (c *call) currentUser() error {
	v, err := c.svc.CurrentUser(c.p)
	if err != nil {
		return err
	}
	level := levelPublic
	if v.AdminFields {
		level = levelWithAdmin
	}
	return c.json(http.StatusOK, newUserEntity(v.User, level, c.baseURL()))
}

// digits is GitLab's requirement on the :id of /users/:id.
var digits = regexp.MustCompile(`^[0-9]+$`)

func (c *call) getUser() error {
	ref := c.r.PathValue("id")
	if !digits.MatchString(ref) {
		// The route does not match: GitLab's catch-all answers.
		return &patkit.Error{Code: patkit.ErrNotFound}
	}
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil {
		id = -1 // beyond int64: no such user
	}
	v, err := c.svc.User(c.r.Context(), c.p, id)
	if err != nil {
		return err
	}
	level := levelUser
	if v.AdminFields {
		level = levelDetailsWithAdmin
	}
	return c.json(http.StatusOK, newUserEntity(v.User, level, c.baseURL()))
}

// userOrders are the values of GET /users' order_by.
var userOrders = []string{"id", "name", "username", "created_at", "updated_at"}

func (c *call) listUsers() error {
	var q patkit.UserQuery
	q.Username = c.c.String("username", false)
	q.Search = c.c.String("search", false)
	externUID := c.c.String("extern_uid", false)
	provider := c.c.String("provider", false)
	bools := map[string]*bool{}
	for _, name := range []string{"active", "humans", "external", "blocked", "exclude_active",
		"exclude_external", "exclude_internal", "exclude_humans", "without_projects", "admins", "without_project_bots"} {
		bools[name] = c.c.Bool(name)
	}
	c.c.oneOf("order_by", userOrders...)
	c.c.oneOf("sort", "asc", "desc")
	c.c.oneOf("two_factor", "enabled", "disabled")
	c.c.DateTime("created_after")
	c.c.DateTime("created_before")
	q.Page, q.PerPage = c.c.pagination()
	if (externUID == "") != (provider == "") && (c.c.has("extern_uid") || c.c.has("provider")) {
		c.c.errs = append(c.c.errs, "extern_uid, provider provide all or none of parameters")
	}
	if err := c.c.err(); err != nil {
		return err
	}
	is := func(name string) bool { b := bools[name]; return b != nil && *b }
	q.Active, q.Blocked, q.Admins, q.WithoutProjectBots = is("active"), is("blocked"), is("admins"), is("without_project_bots")
	if externUID != "" && provider != "" {
		// Only administrators look users up by identity, and patkit knows
		// no identities.
		if !c.p.Admin() {
			return &patkit.Error{Code: patkit.ErrForbidden}
		}
		c.pageHeaders(1, 20, 0, 0)
		return c.json(http.StatusOK, []*userEntity{})
	}
	pg, err := c.svc.Users(c.r.Context(), c.p, q)
	if err != nil {
		return err
	}
	level := levelBasic
	if pg.AdminFields {
		level = levelWithAdmin
	}
	out := make([]*userEntity, len(pg.Users))
	base := c.baseURL()
	for i, u := range pg.Users {
		out[i] = newUserEntity(u, level, base)
	}
	c.pageHeaders(pg.Page, pg.PerPage, pg.Total, len(out))
	return c.json(http.StatusOK, out)
}

// version answers GET /version: the GitLab release whose API patkit
// follows, and patkit's own version in a field GitLab's clients ignore.
func (c *call) version() error {
	return c.json(http.StatusOK, struct {
		Version  string `json:"version"`
		Revision string `json:"revision"`
		Patkit   string `json:"patkit"`
	}{patkit.GitLabVersion, patkit.GitLabRevision, patkit.Version()})
}

func (res resourceRoutes) show(c *call) error {
	if res.typ == patkit.ResourceProject {
		c.c.Bool("statistics")
		c.c.Bool("license")
	} else {
		c.c.Bool("with_projects")
	}
	c.c.Bool("with_custom_attributes")
	if err := c.c.err(); err != nil {
		return err
	}
	v, err := c.svc.Resource(c.r.Context(), c.p, res.typ, c.ref())
	if err != nil {
		return err
	}
	if res.typ == patkit.ResourceProject {
		return c.json(http.StatusOK, newProjectEntity(v, c.p.User() != nil, c.baseURL()))
	}
	return c.json(http.StatusOK, newGroupEntity(v, c.baseURL()))
}

// associationLevels are Gitlab::Access.all_values.
var associationLevels = []patkit.AccessLevel{patkit.NoAccess, patkit.MinimalAccess, patkit.Guest,
	patkit.Planner, patkit.Reporter, patkit.SecurityManager, patkit.Developer, patkit.Maintainer, patkit.Owner}

func (c *call) associations() error {
	var minLevel patkit.AccessLevel
	if n, ok := c.c.Int("min_access_level", false); ok {
		minLevel = patkit.AccessLevel(n)
		valid := false
		for _, l := range associationLevels {
			valid = valid || l == minLevel && int64(l) == n
		}
		if !valid {
			c.c.fail("min_access_level", "does not have a valid value")
		}
	}
	page, perPage := c.c.pagination()
	if err := c.c.err(); err != nil {
		return err
	}
	a, err := c.svc.Associations(c.r.Context(), c.p, minLevel, page, perPage)
	if err != nil {
		return err
	}
	// GitLab paginates both lists and writes the projects' headers last.
	c.pageHeaders(a.Page, a.PerPage, a.ProjectsTotal, len(a.Projects))
	return c.json(http.StatusOK, newAssociations(a, c.baseURL()))
}

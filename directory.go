package patkit

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// User is a user of the host application, as patkit needs to know it.
type User struct {
	ID       int64
	Username string
	Name     string
	// Admin marks an instance administrator.
	Admin bool
	// Blocked users cannot authenticate or manage tokens.
	Blocked bool
	// Bot marks a project or group bot user (the owner of a resource
	// access token). Bots cannot create tokens.
	Bot bool
}

// Resource is a project or a group of the host application.
type Resource struct {
	Type     ResourceType
	ID       int64
	FullPath string // "acme/widgets"
	// TokenCreationDisabled forbids creating and rotating access tokens for
	// the resource (GitLab's resource_access_token_creation_allowed, false).
	TokenCreationDisabled bool
	// Public makes a MemDirectory show the resource to everyone, anonymous
	// callers included, and the lookups of GET /projects/:id and GET
	// /groups/:id render its visibility as "public" ("private" otherwise).
	// A host's own ResourceDirectory decides visibility as it likes.
	Public bool

	// The fields below only describe the resource in the lookups GitLab's
	// clients make (GET /projects/:id, GET /groups/:id and the token's
	// associations); patkit's rules do not read them, and all are optional.

	// Name is the display name; empty means the last segment of FullPath.
	Name string
	// Description is shown as the description; empty is rendered null.
	Description string
	// CreatedAt is shown as created_at (and a project's
	// last_activity_at); the zero time is rendered null.
	CreatedAt time.Time
}

// DisplayName returns r.Name, or the last segment of r.FullPath when Name
// is empty.
func (r *Resource) DisplayName() string {
	return cmp.Or(r.Name, r.Path())
}

// Path returns the last segment of r.FullPath ("widgets" for
// "acme/widgets").
func (r *Resource) Path() string {
	return r.FullPath[strings.LastIndexByte(r.FullPath, '/')+1:]
}

// Directory is the host application's view of its users. patkit never
// stores users; it asks the Directory. Methods return an error wrapping
// ErrNotFound for a missing user, and must be safe for concurrent use. Any
// other error is passed on wrapped (see the package documentation, Errors).
// An answer with neither a user nor an error, or with a user other than
// the one asked for (another ID; a username that differs other than in
// case, by strings.EqualFold), is the host's error: the Service returns an
// error and never acts as that user. The same holds for the optional
// abilities: a resource of another type, or no resource, bot or user
// with no error.
//
// A Directory may have optional abilities, found by type assertion as
// database/sql finds a driver's: ResourceDirectory (projects and groups,
// needed for project and group access tokens), BotDirectory (the host
// creates the bot users of those tokens itself), UserSearcher (user
// searches and lists, GET /users) and MembershipDirectory (a user's
// projects and groups, GET /personal_access_tokens/self/associations).
type Directory interface {
	// UserByID returns the user with the given ID.
	UserByID(ctx context.Context, id int64) (*User, error)
	// UserByUsername returns the user with the given username, compared
	// without regard to case.
	UserByUsername(ctx context.Context, username string) (*User, error)
}

// ResourceDirectory is the optional ability of a Directory that knows
// projects and groups. Without it, every project and group endpoint answers
// as GitLab does for a resource that does not exist: ErrNotFound
// ("Project Not Found", "Group Not Found").
type ResourceDirectory interface {
	// Resource returns the project or group named by a numeric ID ("42")
	// or a full path ("acme/widgets") if viewer may see it, and an error
	// wrapping ErrNotFound if it does not exist or viewer may not see it,
	// as GitLab answers 404 for a private project to a non-member, so that
	// its existence is not revealed. A nil viewer is patkit itself, which
	// sees everything (it asks so to let a bot it manages reach its own
	// token's resource). An anonymous caller (GET /projects/:id and GET
	// /groups/:id serve them) is a non-nil viewer whose User is nil: show
	// it only what is public.
	Resource(ctx context.Context, viewer *Principal, typ ResourceType, ref string) (*Resource, error)
	// AccessLevel returns the user's level in the resource, NoAccess if the
	// user is not a member.
	AccessLevel(ctx context.Context, userID int64, r *Resource) (AccessLevel, error)
}

// BotDirectory is the optional ability of a Directory that creates the bot
// users of project and group access tokens itself, as GitLab does. Without
// it the Service manages bot users on its own: each new project or group
// token gets a bot with a random ID between 2^40 and 2^52 (so host user IDs
// must stay below 2^40), named "project_<id>_bot_<hex id>", a member of
// its resource at the token's level, and known from the tokens in the Store
// alone: such bots survive restarts and are the same on every instance
// sharing the Store. Whatever the Directory, a user ID it does not know
// that owns a project or group token is that token's bot.
type BotDirectory interface {
	// CreateBot creates the bot user of a new access token of r, named
	// after the token, as a member of r at level.
	CreateBot(ctx context.Context, r *Resource, name string, level AccessLevel) (*User, error)
	// DeleteBot deletes a bot user CreateBot returned. The Service calls it
	// when the token could not be saved, so that no bot is left without a
	// token.
	DeleteBot(ctx context.Context, id int64) error
}

// UserSearcher is the optional ability of a Directory that searches and
// lists its users, for GET /users without a username (GitLab's search=
// parameter, and the list of every user). Without it the Service answers a
// search with the user whose username equals the search term, compared
// without regard to case (a part of what GitLab answers, which also
// matches parts of names and usernames), and a list without search or
// username with no users.
type UserSearcher interface {
	// SearchUsers returns one page of the users matching q, ordered by ID
	// descending (GitLab's default order), and how many match in all.
	// q.Search, when not empty, matches a part of the username or name
	// without regard to case, or the whole email address; the other
	// fields of q are filters. Bots the Service manages (see
	// BotDirectory) are not expected among the results.
	SearchUsers(ctx context.Context, q *UserQuery) (users []*User, total int, err error)
}

// MembershipDirectory is the optional ability of a ResourceDirectory that
// lists a user's memberships, for GET
// /personal_access_tokens/self/associations. Without it that endpoint
// lists no groups and no projects.
type MembershipDirectory interface {
	// Memberships returns one page (offset, limit) of the projects or the
	// groups (typ) of which the user is a member at level minLevel or
	// above, ordered by ID ascending, and how many there are in all.
	Memberships(ctx context.Context, userID int64, typ ResourceType, minLevel AccessLevel, offset, limit int) (rs []*Resource, total int, err error)
}

// MemDirectory is a Directory held in memory, for tests, examples and small
// embeddings, with every optional ability: ResourceDirectory (a resource
// is visible to administrators, its members, and everyone when Public),
// BotDirectory (bots live in memory, so they are lost on restart; a host
// that wants restart-safe bots without a user table leaves BotDirectory out
// and lets the Service manage them), UserSearcher and MembershipDirectory.
// The zero value is empty and ready to use; it is safe for concurrent use.
type MemDirectory struct {
	// users maps an ID to its *User, which is replaced, never changed;
	// written under mu. Reads take no lock, so that authentications on
	// several cores do not contend; writes cost the same whatever the
	// number of users.
	users sync.Map

	mu        sync.RWMutex
	resources map[ResourceType]map[int64]*Resource
	members   map[memberKey]AccessLevel
	nextUser  int64
}

type memberKey struct {
	typ  ResourceType
	id   int64
	user int64
}

// AddUser adds or replaces a user.
func (d *MemDirectory) AddUser(u User) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.users.Store(u.ID, &u)
	d.nextUser = max(d.nextUser, u.ID)
}

// AddResource adds or replaces a project or group.
func (d *MemDirectory) AddResource(r Resource) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.resources == nil {
		d.resources = make(map[ResourceType]map[int64]*Resource)
	}
	if d.resources[r.Type] == nil {
		d.resources[r.Type] = make(map[int64]*Resource)
	}
	d.resources[r.Type][r.ID] = &r
}

// SetAccess makes the user a member of the resource at level; NoAccess
// removes the membership.
func (d *MemDirectory) SetAccess(typ ResourceType, resourceID, userID int64, level AccessLevel) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.members == nil {
		d.members = make(map[memberKey]AccessLevel)
	}
	k := memberKey{typ, resourceID, userID}
	if level == NoAccess {
		delete(d.members, k)
		return
	}
	d.members[k] = level
}

// UserByID implements Directory. The User returned is shared (AddUser
// replaces it rather than changing it) and must not be modified. It takes
// no lock, so that authentications on several cores do not contend.
func (d *MemDirectory) UserByID(_ context.Context, id int64) (*User, error) {
	if u, ok := d.users.Load(id); ok {
		return u.(*User), nil
	}
	return nil, fmt.Errorf("user %d: %w", id, ErrNotFound)
}

// UserByUsername implements Directory. The User returned is shared and
// must not be modified.
func (d *MemDirectory) UserByUsername(_ context.Context, username string) (*User, error) {
	var found *User
	d.users.Range(func(_, v any) bool {
		if u := v.(*User); strings.EqualFold(u.Username, username) {
			found = u
		}
		return found == nil
	})
	if found != nil {
		return found, nil
	}
	return nil, fmt.Errorf("user %q: %w", username, ErrNotFound)
}

// Resource implements ResourceDirectory. A resource is visible to
// administrators, to its members, and to everyone when it is Public.
func (d *MemDirectory) Resource(_ context.Context, viewer *Principal, typ ResourceType, ref string) (*Resource, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var found *Resource
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		found = d.resources[typ][id]
	} else {
		for _, r := range d.resources[typ] {
			if strings.EqualFold(r.FullPath, ref) {
				found = r
			}
		}
	}
	if found == nil || viewer != nil && !found.Public && !viewer.Admin() &&
		(viewer.User() == nil || d.members[memberKey{typ, found.ID, viewer.User().ID}] == NoAccess) {
		return nil, fmt.Errorf("%s %q: %w", typ, ref, ErrNotFound)
	}
	c := *found
	return &c, nil
}

// AccessLevel implements ResourceDirectory.
func (d *MemDirectory) AccessLevel(_ context.Context, userID int64, r *Resource) (AccessLevel, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.members[memberKey{r.Type, r.ID, userID}], nil
}

// CreateBot implements BotDirectory. The bot's username follows GitLab:
// project_<id>_bot_<random> or group_<id>_bot_<random>.
func (d *MemDirectory) CreateBot(_ context.Context, r *Resource, name string, level AccessLevel) (*User, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.members == nil {
		d.members = make(map[memberKey]AccessLevel)
	}
	d.nextUser++
	u := &User{
		ID:       d.nextUser,
		Username: fmt.Sprintf("%s_%d_bot_%s", r.Type, r.ID, hex.EncodeToString(b[:])),
		Name:     name,
		Bot:      true,
	}
	d.users.Store(u.ID, u)
	d.members[memberKey{r.Type, r.ID, u.ID}] = level
	c := *u
	return &c, nil
}

// DeleteBot implements BotDirectory: it removes the user and its
// memberships.
func (d *MemDirectory) DeleteBot(_ context.Context, id int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.users.LoadAndDelete(id); !ok {
		return fmt.Errorf("user %d: %w", id, ErrNotFound)
	}
	for k := range d.members {
		if k.user == id {
			delete(d.members, k)
		}
	}
	return nil
}

// SearchUsers implements UserSearcher.
func (d *MemDirectory) SearchUsers(_ context.Context, q *UserQuery) ([]*User, int, error) {
	var all []*User
	d.users.Range(func(_, v any) bool {
		if u := v.(*User); q.Match(u) {
			all = append(all, u)
		}
		return true
	})
	slices.SortFunc(all, func(a, b *User) int { return cmp.Compare(b.ID, a.ID) })
	return pageOf(all, q.Offset(), q.PerPage), len(all), nil
}

// Memberships implements MembershipDirectory.
func (d *MemDirectory) Memberships(_ context.Context, userID int64, typ ResourceType, minLevel AccessLevel, offset, limit int) ([]*Resource, int, error) {
	d.mu.RLock()
	var all []*Resource
	for k, level := range d.members {
		if k.user == userID && k.typ == typ && level >= max(minLevel, MinimalAccess) {
			if r := d.resources[typ][k.id]; r != nil {
				c := *r
				all = append(all, &c)
			}
		}
	}
	d.mu.RUnlock()
	slices.SortFunc(all, func(a, b *Resource) int { return cmp.Compare(a.ID, b.ID) })
	return pageOf(all, offset, limit), len(all), nil
}

// pageOf returns the elements of s from offset, at most limit of them.
func pageOf[T any](s []T, offset, limit int) []T {
	if offset < 0 || offset >= len(s) || limit <= 0 {
		return nil
	}
	return s[offset:min(len(s), offset+limit)]
}

// dirUserByID asks the Directory for user id, holding it to its contract.
func (s *Service) dirUserByID(ctx context.Context, id int64) (*User, error) {
	u, err := s.dir.UserByID(ctx, id)
	if err == nil && (u == nil || u.ID != id) {
		return nil, brokenDirectory("UserByID", strconv.FormatInt(id, 10), u)
	}
	return u, err
}

// dirUserByUsername asks the Directory for the user username, holding it
// to its contract.
func (s *Service) dirUserByUsername(ctx context.Context, username string) (*User, error) {
	u, err := s.dir.UserByUsername(ctx, username)
	if err == nil && (u == nil || !strings.EqualFold(u.Username, username)) {
		return nil, brokenDirectory("UserByUsername", strconv.Quote(username), u)
	}
	return u, err
}

// brokenDirectory is the error of a Directory's answer to method(arg) of
// u and no error, where u is nil or another user.
func brokenDirectory(method, arg string, u *User) error {
	if u == nil {
		return fmt.Errorf("patkit: Directory.%s(%s) returned neither a user nor an error", method, arg)
	}
	return fmt.Errorf("patkit: Directory.%s(%s) returned user %d (%q)", method, arg, u.ID, u.Username)
}

// dirResource asks rd for the resource typ named ref, holding it to its
// contract: an answer with neither a resource nor an error, or with a
// resource of another type, is an error.
func dirResource(ctx context.Context, rd ResourceDirectory, viewer *Principal, typ ResourceType, ref string) (*Resource, error) {
	r, err := rd.Resource(ctx, viewer, typ, ref)
	switch {
	case err != nil:
		return nil, err
	case r == nil:
		return nil, fmt.Errorf("patkit: Directory.Resource(%s, %q) returned neither a resource nor an error", typ, ref)
	case r.Type != typ:
		return nil, fmt.Errorf("patkit: Directory.Resource(%s, %q) returned a %s", typ, ref, r.Type)
	}
	return r, nil
}

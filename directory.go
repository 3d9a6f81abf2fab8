package patkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
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
}

// Directory is the host application's view of its users, projects and
// groups. patkit never stores users; it asks the Directory. Methods return
// an error wrapping ErrNotFound for missing users and resources. They must be
// safe for concurrent use.
type Directory interface {
	// UserByID returns the user with the given ID.
	UserByID(ctx context.Context, id int64) (*User, error)
	// UserByUsername returns the user with the given username, compared
	// without regard to case.
	UserByUsername(ctx context.Context, username string) (*User, error)
	// Resource returns a project or group by numeric ID ("42") or full path
	// ("acme/widgets").
	Resource(ctx context.Context, typ ResourceType, ref string) (*Resource, error)
	// AccessLevel returns the user's level in the resource, NoAccess if the
	// user is not a member.
	AccessLevel(ctx context.Context, userID int64, r *Resource) (AccessLevel, error)
	// CreateBot creates the bot user of a new project or group access token,
	// named after the token, as a member of r at level.
	CreateBot(ctx context.Context, r *Resource, name string, level AccessLevel) (*User, error)
}

// MemDirectory is a Directory held in memory, for tests, examples and small
// embeddings. The zero value is empty and ready to use; it is safe for
// concurrent use.
type MemDirectory struct {
	mu        sync.RWMutex
	users     map[int64]*User
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
	if d.users == nil {
		d.users = make(map[int64]*User)
	}
	d.users[u.ID] = &u
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

// UserByID implements Directory.
func (d *MemDirectory) UserByID(_ context.Context, id int64) (*User, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if u, ok := d.users[id]; ok {
		c := *u
		return &c, nil
	}
	return nil, fmt.Errorf("user %d: %w", id, ErrNotFound)
}

// UserByUsername implements Directory.
func (d *MemDirectory) UserByUsername(_ context.Context, username string) (*User, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, u := range d.users {
		if strings.EqualFold(u.Username, username) {
			c := *u
			return &c, nil
		}
	}
	return nil, fmt.Errorf("user %q: %w", username, ErrNotFound)
}

// Resource implements Directory.
func (d *MemDirectory) Resource(_ context.Context, typ ResourceType, ref string) (*Resource, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		if r, ok := d.resources[typ][id]; ok {
			c := *r
			return &c, nil
		}
	} else {
		for _, r := range d.resources[typ] {
			if strings.EqualFold(r.FullPath, ref) {
				c := *r
				return &c, nil
			}
		}
	}
	return nil, fmt.Errorf("%s %q: %w", typ, ref, ErrNotFound)
}

// AccessLevel implements Directory.
func (d *MemDirectory) AccessLevel(_ context.Context, userID int64, r *Resource) (AccessLevel, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.members[memberKey{r.Type, r.ID, userID}], nil
}

// CreateBot implements Directory. The bot's username follows GitLab:
// project_<id>_bot_<random> or group_<id>_bot_<random>.
func (d *MemDirectory) CreateBot(_ context.Context, r *Resource, name string, level AccessLevel) (*User, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.users == nil {
		d.users = make(map[int64]*User)
	}
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
	d.users[u.ID] = u
	d.members[memberKey{r.Type, r.ID, u.ID}] = level
	c := *u
	return &c, nil
}

package patkit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/memstore"
)

// exampleService returns a Service over memstore with a root administrator
// and a user, alice, and a clock fixed on 2026-03-10.
func exampleService() (*patkit.Service, *patkit.Principal) {
	dir := new(patkit.MemDirectory)
	dir.AddUser(patkit.User{ID: 1, Username: "root", Admin: true})
	dir.AddUser(patkit.User{ID: 2, Username: "alice"})
	svc, err := patkit.New(memstore.New(), dir, []byte("an instance key of 32+ bytes....."), &patkit.Options{
		Now: func() time.Time { return time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		panic(err)
	}
	// root is a user the host signed in itself (say, with a session).
	root, err := svc.Principal(context.Background(), 1, false)
	if err != nil {
		panic(err)
	}
	return svc, root
}

func Example() {
	ctx := context.Background()
	svc, root := exampleService()

	// An administrator creates a token for alice (user 2).
	tok, secret, err := svc.CreateToken(ctx, root, 2, patkit.TokenOptions{
		Name:   "ci",
		Scopes: []patkit.Scope{patkit.ScopeReadAPI},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(tok.Name, tok.Scopes, tok.ExpiresAt.Format(time.DateOnly), len(secret))

	// The secret authenticates alice; the scope check is GitLab's rule.
	p, err := svc.Authenticate(ctx, secret, patkit.AuthRequest{RemoteIP: "192.0.2.1"})
	if err != nil {
		panic(err)
	}
	fmt.Println(p.User().Username, p.Admin())
	fmt.Println(patkit.CheckScopes(p.Token().Scopes, patkit.AllowedScopes(true)) == nil)
	fmt.Println(patkit.CheckScopes(p.Token().Scopes, patkit.AllowedScopes(false)) == nil)
	// Output:
	// ci [read_api] 2027-03-10 40
	// alice false
	// true
	// false
}

func ExampleService_RotateToken() {
	ctx := context.Background()
	svc, root := exampleService()
	old, oldSecret, _ := svc.CreateToken(ctx, root, 2, patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{patkit.ScopeAPI}})

	next, _, err := svc.RotateToken(ctx, root, old.ID, time.Time{})
	if err != nil {
		panic(err)
	}
	fmt.Println(next.ID, next.PreviousID, next.ExpiresAt.Format(time.DateOnly))

	// The old secret is dead; presenting it on a rotation path would also
	// revoke the new token.
	_, err = svc.Authenticate(ctx, oldSecret, patkit.AuthRequest{})
	fmt.Println(errors.Is(err, patkit.ErrTokenRevoked))
	// Output:
	// 2 1 2026-03-17
	// true
}

// A host checks GitLab's policy for its own pages, with GitLab's answer
// for a refusal.
func ExampleAuthorize() {
	svc, _ := exampleService()
	alice, err := svc.Principal(context.Background(), 2, false)
	if err != nil {
		panic(err)
	}
	project := &patkit.Resource{Type: patkit.ResourceProject, ID: 1}
	fmt.Println(patkit.Authorize(alice, patkit.CreateResourceToken, patkit.Target{Resource: project, Level: patkit.Maintainer}))
	fmt.Println(patkit.Authorize(alice, patkit.CreateResourceToken, patkit.Target{Resource: project, Level: patkit.Developer}))
	fmt.Println(patkit.Authorize(alice, patkit.ManageImpersonation, patkit.Target{}))
	// Output:
	// <nil>
	// patkit: bad request: User does not have permission to create project access token
	// patkit: forbidden
}

func ExampleError() {
	svc, root := exampleService()
	_, _, err := svc.CreateToken(context.Background(), root, 2, patkit.TokenOptions{
		Name:      "ci",
		Scopes:    []patkit.Scope{patkit.ScopeAPI},
		ExpiresAt: time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC),
	})
	var e *patkit.Error
	if errors.As(err, &e) && errors.Is(err, patkit.ErrInvalid) {
		fmt.Println(e.Sentence())
		fmt.Println(e.Fields[0].Field, e.Fields[0].Message)
	}
	// Output:
	// Expiration date must be before 2027-03-10
	// expires_at must be before 2027-03-10
}

func ExampleLoadOrCreateKey() {
	dir, err := os.MkdirTemp("", "patkit")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "patkit.key")

	key, created, err := patkit.LoadOrCreateKey(path) // first start
	fmt.Println(len(key), created, err)
	again, created, err := patkit.LoadOrCreateKey(path) // every later start
	fmt.Println(bytes.Equal(key, again), created, err)
	// Output:
	// 32 true <nil>
	// true false <nil>
}

// A host that signs users in itself (a session cookie, say) gets their
// Principal from the Service, which applies the blocked state and admin
// mode.
func ExampleService_Principal() {
	svc, _ := exampleService()
	alice, err := svc.Principal(context.Background(), 2, false)
	if err != nil {
		panic(err)
	}
	page, err := svc.ListTokens(context.Background(), alice, patkit.Filter{})
	fmt.Println(alice.User().Username, alice.Admin(), page.Total, err)
	_, err = svc.Principal(context.Background(), 99, false)
	fmt.Println(err)
	// Output:
	// alice false 0 <nil>
	// patkit: unauthorized
}

// The lookups glab makes before `glab token create --user alice`: who am
// I, and who is alice. Anonymous callers may look a user up by username,
// but not list users.
func ExampleService_Users() {
	ctx := context.Background()
	svc, root := exampleService()

	me, err := svc.CurrentUser(root)
	if err != nil {
		panic(err)
	}
	fmt.Println(me.Username, me.AdminFields)

	pg, err := svc.Users(ctx, nil, patkit.UserQuery{Username: "ALICE"})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(pg.Users), pg.Users[0].ID, pg.AdminFields)

	_, err = svc.Users(ctx, nil, patkit.UserQuery{})
	fmt.Println(err)
	// Output:
	// root true
	// 1 2 false
	// patkit: forbidden: Not authorized to access /api/v4/users
}

// A project as GitLab's GET /projects/:id shows it: anonymous callers see
// public projects only, and the project's group gives its namespace.
func ExampleService_Resource() {
	ctx := context.Background()
	dir := new(patkit.MemDirectory)
	dir.AddUser(patkit.User{ID: 2, Username: "alice", Name: "Alice"})
	dir.AddResource(patkit.Resource{Type: patkit.ResourceGroup, ID: 7, FullPath: "acme", Name: "ACME", Public: true})
	dir.AddResource(patkit.Resource{Type: patkit.ResourceProject, ID: 9, FullPath: "acme/widgets", Public: true})
	dir.AddResource(patkit.Resource{Type: patkit.ResourceProject, ID: 10, FullPath: "acme/secret"})
	svc, err := patkit.New(memstore.New(), dir, []byte("an instance key of 32+ bytes....."), nil)
	if err != nil {
		panic(err)
	}
	v, err := svc.Resource(ctx, nil, patkit.ResourceProject, "acme/widgets")
	if err != nil {
		panic(err)
	}
	fmt.Println(v.ID, v.FullName, v.Namespace.Kind, v.Namespace.ID)

	_, err = svc.Resource(ctx, nil, patkit.ResourceProject, "acme/secret")
	fmt.Println(err)
	// Output:
	// 9 ACME / widgets group 7
	// patkit: not found: Project Not Found
}

// A token bound to networks authenticates only from inside them.
func ExampleTokenOptions_allowedCIDRs() {
	ctx := context.Background()
	svc, root := exampleService()
	var cidrs []netip.Prefix
	for _, s := range []string{"10.0.0.0/8", "192.0.2.7", "::ffff:198.51.100.0/120"} {
		p, err := patkit.ParseCIDR(s) // a bare address is /32 (or /128)
		if err != nil {
			panic(err)
		}
		cidrs = append(cidrs, p)
	}
	tok, secret, err := svc.CreateToken(ctx, root, 2, patkit.TokenOptions{
		Name: "deploy", Scopes: []patkit.Scope{patkit.ScopeAPI}, AllowedCIDRs: cidrs,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(tok.AllowedCIDRs) // normalized: sorted, IPv4-mapped unmapped
	for _, ip := range []string{"10.1.2.3", "203.0.113.5", ""} {
		_, err := svc.Authenticate(ctx, secret, patkit.AuthRequest{RemoteIP: ip})
		fmt.Printf("%q: %v\n", ip, err)
	}
	// Output:
	// [10.0.0.0/8 192.0.2.7/32 198.51.100.0/24]
	// "10.1.2.3": <nil>
	// "203.0.113.5": patkit: client address not allowed for this token
	// "": patkit: client address not allowed for this token
}

// With a grace window, the token a rotation replaced keeps working for a
// while, and a second rotation with it is refused rather than taken for
// a reuse by a thief.
func ExampleOptions_rotationGrace() {
	ctx := context.Background()
	dir := new(patkit.MemDirectory)
	dir.AddUser(patkit.User{ID: 1, Username: "root", Admin: true})
	dir.AddUser(patkit.User{ID: 2, Username: "alice"})
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	svc, err := patkit.New(memstore.New(), dir, []byte("an instance key of 32+ bytes....."), &patkit.Options{
		RotationGrace: time.Minute,
		Now:           func() time.Time { return now },
	})
	if err != nil {
		panic(err)
	}
	root, _ := svc.Principal(ctx, 1, false)
	_, old, _ := svc.CreateToken(ctx, root, 2, patkit.TokenOptions{Name: "shared", Scopes: []patkit.Scope{patkit.ScopeAPI}})

	// One client rotates the shared token.
	p, _ := svc.Authenticate(ctx, old, patkit.AuthRequest{Rotate: true})
	_, next, _ := svc.RotateSelf(ctx, p, time.Time{})

	// Another, still holding the old secret, tries too: refused, nothing
	// revoked; the old secret still works for other requests.
	_, err = svc.Authenticate(ctx, old, patkit.AuthRequest{Rotate: true})
	fmt.Println(err)
	_, err = svc.Authenticate(ctx, old, patkit.AuthRequest{})
	fmt.Println("old secret:", err)

	// Once the window is over, the old secret fails as revoked.
	now = now.Add(time.Minute)
	_, err = svc.Authenticate(ctx, old, patkit.AuthRequest{})
	fmt.Println("old secret:", err)
	_, err = svc.Authenticate(ctx, next, patkit.AuthRequest{})
	fmt.Println("new secret:", err)
	// Output:
	// patkit: bad request: Token already rotated: use the token that replaced it
	// old secret: <nil>
	// old secret: patkit: token was revoked
	// new secret: <nil>
}

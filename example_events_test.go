package patkit_test

import (
	"context"
	"fmt"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/memstore"
)

// A host receives an event for every change to a token, after it is
// stored. The handler runs on a goroutine of the Service; one that may be
// slow hands the event to a queue of its own and returns.
func ExampleOptions_onEvent() {
	ctx := context.Background()
	dir := new(patkit.MemDirectory)
	dir.AddUser(patkit.User{ID: 1, Username: "root", Admin: true})
	dir.AddUser(patkit.User{ID: 2, Username: "alice"})
	svc, err := patkit.New(memstore.New(), dir, []byte("an instance key of 32+ bytes....."), &patkit.Options{
		Now: func() time.Time { return time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC) },
		OnEvent: func(e patkit.Event) {
			line := fmt.Sprintf("%s: token %d %q by %s", e.Type, e.Token.ID, e.Token.Name, e.Actor.Username)
			if e.Actor.IP != "" {
				line += " from " + e.Actor.IP
			}
			if e.Reason != "" {
				line += " (" + string(e.Reason) + ")"
			}
			fmt.Println(line)
		},
	})
	if err != nil {
		panic(err)
	}
	root, err := svc.Principal(ctx, 1, false)
	if err != nil {
		panic(err)
	}
	tok, secret, err := svc.CreateToken(ctx, root, 2, patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{patkit.ScopeAPI}})
	if err != nil {
		panic(err)
	}
	// alice's first use from an address she never used it from.
	if _, err := svc.Authenticate(ctx, secret, patkit.AuthRequest{RemoteIP: "192.0.2.1"}); err != nil {
		panic(err)
	}
	if err := svc.RevokeToken(ctx, root, tok.ID); err != nil {
		panic(err)
	}
	// Wait for the delivery of what was emitted (at shutdown, say).
	if err := svc.Flush(ctx); err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", svc.EventStats())
	// Output:
	// token_created: token 1 "ci" by root
	// token_new_address: token 1 "ci" by alice from 192.0.2.1
	// token_revoked: token 1 "ci" by root (administrator)
	// {Queued:3 Delivered:3 Dropped:0 Panics:0}
}

// The host calls SendExpiryNotices periodically, on every instance: each
// notice is emitted once per token, by one of them.
func ExampleService_SendExpiryNotices() {
	ctx := context.Background()
	dir := new(patkit.MemDirectory)
	dir.AddUser(patkit.User{ID: 1, Username: "root", Admin: true})
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	svc, err := patkit.New(memstore.New(), dir, []byte("an instance key of 32+ bytes....."), &patkit.Options{
		Now: func() time.Time { return now },
		OnEvent: func(e patkit.Event) {
			if e.Type == patkit.EventExpiringSoon || e.Type == patkit.EventExpired {
				fmt.Println(e.Type, e.Token.Name, e.Token.ExpiresAt.Format(time.DateOnly), e.Notice.Days())
			}
		},
	})
	if err != nil {
		panic(err)
	}
	root, err := svc.Principal(ctx, 1, false)
	if err != nil {
		panic(err)
	}
	for _, days := range []int{5, 20, 45, 90} {
		if _, _, err := svc.CreateToken(ctx, root, 1, patkit.TokenOptions{
			Name:      fmt.Sprintf("in %d days", days),
			Scopes:    []patkit.Scope{patkit.ScopeReadAPI},
			ExpiresAt: now.AddDate(0, 0, days),
		}); err != nil {
			panic(err)
		}
	}
	for range 2 { // the second call finds nothing new
		n, err := svc.SendExpiryNotices(ctx)
		svc.Flush(ctx)
		fmt.Println("sent", n, err)
	}
	// Output:
	// token_expiring_soon in 45 days 2026-04-24 60
	// token_expiring_soon in 20 days 2026-03-30 30
	// token_expiring_soon in 5 days 2026-03-15 7
	// sent 3 <nil>
	// sent 0 <nil>
}

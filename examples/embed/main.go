// Command embed is the smallest complete host: tokens on SQLite, a key
// file, the host's users, GitLab's token API mounted, and one route of the
// host's own protected by the same tokens.
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/httpapi"
	"github.com/patkit/patkit/sqlitestore"
)

func main() {
	ctx := context.Background()

	// Tokens live in SQLite (or PostgreSQL: pgstore.Open(ctx, dsn, nil)).
	store, err := sqlitestore.Open(ctx, "tokens.db", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	// The instance key digests every token: created once (32 random
	// bytes, mode 0600) and kept with the database.
	key, _, err := patkit.LoadOrCreateKey("tokens.key")
	if err != nil {
		log.Fatal(err)
	}

	// Your users: implement patkit.Directory over your own user table.
	dir := new(patkit.MemDirectory)
	dir.AddUser(patkit.User{ID: 1, Username: "root", Name: "Administrator", Admin: true})
	dir.AddUser(patkit.User{ID: 2, Username: "alice", Name: "Alice"})

	svc, err := patkit.New(store, dir, key, nil)
	if err != nil {
		log.Fatal(err)
	}

	// Call the Service directly: root creates a token for alice. The
	// secret is shown once; only its digest is stored.
	root, err := svc.Principal(ctx, 1, false)
	if err != nil {
		log.Fatal(err)
	}
	_, secret, err := svc.CreateToken(ctx, root, 2, patkit.TokenOptions{
		Name:   "laptop",
		Scopes: []patkit.Scope{patkit.ScopeReadRepository},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("alice's token:", secret)

	// Or serve GitLab's REST API, and protect your own routes with the
	// same tokens: RequireScopes authenticates and checks the scope.
	api := httpapi.New(svc, nil)
	mux := http.NewServeMux()
	mux.Handle("/api/v4/", api)
	mux.Handle("GET /repo", api.RequireScopes(patkit.ScopeReadRepository)(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, _ := httpapi.PrincipalFrom(r.Context())
			fmt.Fprintln(w, "hello", p.User().Username)
		})))
	log.Fatal(http.ListenAndServe("127.0.0.1:8081", mux))
}

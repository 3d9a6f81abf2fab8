package sqlitestore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/httpapi"
	"github.com/patkit/patkit/sqlitestore"
)

// A whole host on SQLite: the Service, GitLab's API mounted, and a route
// of the host's own protected by the same tokens.
func Example() {
	dir, err := os.MkdirTemp("", "patkit-host")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	store, err := sqlitestore.Open(ctx, filepath.Join(dir, "tokens.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	key, _, err := patkit.LoadOrCreateKey(filepath.Join(dir, "tokens.key"))
	if err != nil {
		log.Fatal(err)
	}
	users := new(patkit.MemDirectory)
	users.AddUser(patkit.User{ID: 1, Username: "root", Admin: true})
	users.AddUser(patkit.User{ID: 2, Username: "alice"})
	svc, err := patkit.New(store, users, key, nil)
	if err != nil {
		log.Fatal(err)
	}

	api := httpapi.New(svc, &httpapi.Options{Logger: slog.New(slog.DiscardHandler)})
	mux := http.NewServeMux()
	mux.Handle("/api/v4/", api)
	mux.Handle("GET /repo", api.RequireScopes(patkit.ScopeReadRepository)(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, _ := httpapi.PrincipalFrom(r.Context())
			fmt.Fprintf(w, "hello %s", p.User().Username)
		})))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// root creates a token for alice through the API, as GitLab's clients do.
	root, err := svc.Principal(ctx, 1, false)
	if err != nil {
		log.Fatal(err)
	}
	_, rootSecret, err := svc.CreateToken(ctx, root, 1, patkit.TokenOptions{Name: "admin", Scopes: []patkit.Scope{patkit.ScopeAPI}})
	if err != nil {
		log.Fatal(err)
	}
	get := func(method, path, token string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		req.Header.Set("PRIVATE-TOKEN", token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("POST", "/api/v4/users/2/personal_access_tokens?name=laptop&scopes[]=read_repository", rootSecret)
	var created struct{ Name, Token string }
	if err := json.Unmarshal([]byte(body), &created); err != nil {
		log.Fatal(err)
	}
	fmt.Println("create:", code, created.Name)

	// alice's token opens the host's route; a bad one is refused.
	fmt.Println(get("GET", "/repo", created.Token))
	code, _ = get("GET", "/repo", "glpat-not-a-token")
	fmt.Println("bad token:", code)
	// Output:
	// create: 201 laptop
	// 200 hello alice
	// bad token: 401
}

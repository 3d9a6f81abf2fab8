package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/httpapi"
	"github.com/patkit/patkit/memstore"
)

// exampleService returns a Service with one user, alice, and a token for
// her with the given scopes.
func exampleService(scopes ...patkit.Scope) (*patkit.Service, string) {
	dir := &patkit.MemDirectory{}
	dir.AddUser(patkit.User{ID: 1, Username: "root", Admin: true})
	dir.AddUser(patkit.User{ID: 2, Username: "alice"})
	key := bytes.Repeat([]byte{7}, patkit.MinKeyLen) // use a random, persisted key
	svc, err := patkit.New(memstore.New(), dir, key, nil)
	if err != nil {
		log.Fatal(err)
	}
	root, err := svc.Principal(context.Background(), 1, false)
	if err != nil {
		log.Fatal(err)
	}
	_, secret, err := svc.CreateToken(context.Background(), root, 2,
		patkit.TokenOptions{Name: "laptop", Scopes: scopes})
	if err != nil {
		log.Fatal(err)
	}
	return svc, secret
}

// Mount the API and call GET /api/v4/personal_access_tokens/self.
func ExampleNew() {
	svc, secret := exampleService(patkit.ScopeReadAPI)

	mux := http.NewServeMux()
	mux.Handle("/api/v4/", httpapi.New(svc, nil))

	r := httptest.NewRequest("GET", "/api/v4/personal_access_tokens/self", nil)
	r.Header.Set("PRIVATE-TOKEN", secret)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)

	var tok struct {
		Name   string   `json:"name"`
		Scopes []string `json:"scopes"`
		Active bool     `json:"active"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &tok); err != nil {
		log.Fatal(err)
	}
	fmt.Println(w.Code, tok.Name, tok.Scopes, tok.Active)
	// Output: 200 laptop [read_api] true
}

// The API describes itself: GET /api/v4/openapi.json answers its OpenAPI
// 3.1 document to anyone, without a token.
func ExampleNew_openAPI() {
	svc, _ := exampleService(patkit.ScopeReadAPI)
	h := httpapi.New(svc, nil)

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/api/v4/openapi.json", nil))

	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		log.Fatal(err)
	}
	_, ok := doc.Paths["/personal_access_tokens/self"]
	fmt.Println(w.Code, w.Header().Get("Content-Type"), doc.OpenAPI, ok)
	// Output: 200 application/json 3.1.1 true
}

// Protect a host route with the same tokens: RequireScopes authenticates
// the request and applies GitLab's scope rule, PrincipalFrom reads who is
// calling.
func ExampleHandler_RequireScopes() {
	svc, secret := exampleService(patkit.ScopeReadRepository)

	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := httpapi.PrincipalFrom(r.Context())
		fmt.Fprintf(w, "hello %s", p.User().Username)
	})
	api := httpapi.New(svc, nil)
	mux := http.NewServeMux()
	mux.Handle("/api/v4/", api)
	mux.Handle("GET /repo", api.RequireScopes(patkit.ScopeReadRepository)(hello))
	mux.Handle("POST /admin", api.RequireScopes()(hello)) // api only
	h := mux

	for _, c := range []struct{ method, path, token string }{
		{"GET", "/repo", secret},
		{"POST", "/admin", secret},
		{"GET", "/repo", ""},
	} {
		r := httptest.NewRequest(c.method, c.path, nil)
		if c.token != "" {
			r.Header.Set("Authorization", "Bearer "+c.token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Body.String())
	}
	// Output:
	// 200 hello alice
	// 403 {"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"api read_api"}
	// 401 {"message":"401 Unauthorized"}
}

// Throttle failed authentication: after three failures from one client
// address in a minute, that address gets GitLab's 429 until the minute
// ends, even with a valid token, while other addresses are unaffected.
func ExampleFailedAuthLimit() {
	svc, secret := exampleService(patkit.ScopeReadAPI)
	h := httpapi.New(svc, &httpapi.Options{
		FailedAuthLimit: &httpapi.FailedAuthLimit{Limit: 3, Period: time.Minute},
		Logger:          slog.New(slog.DiscardHandler),
	})
	get := func(addr, token string) {
		r := httptest.NewRequest("GET", "/api/v4/personal_access_tokens/self", nil)
		r.RemoteAddr = addr + ":40000"
		r.Header.Set("PRIVATE-TOKEN", token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		body := w.Body.String()
		if w.Code == http.StatusOK {
			body = "(the token)"
		}
		fmt.Printf("%s %d %q\n", addr, w.Code, body)
	}
	for range 3 {
		get("192.0.2.1", "glpat-wrong")
	}
	get("192.0.2.1", secret)
	get("198.51.100.2", secret)
	// Output:
	// 192.0.2.1 401 "{\"message\":\"401 Unauthorized\"}"
	// 192.0.2.1 401 "{\"message\":\"401 Unauthorized\"}"
	// 192.0.2.1 401 "{\"message\":\"401 Unauthorized\"}"
	// 192.0.2.1 429 "Retry later\n"
	// 198.51.100.2 200 "(the token)"
}

// Behind reverse proxies, ForwardedFor reads the client address from
// X-Forwarded-For, but only when the connection comes from one of them.
func ExampleForwardedFor() {
	clientIP := httpapi.ForwardedFor([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})

	r := httptest.NewRequest("GET", "/api/v4/user", nil)
	r.RemoteAddr = "10.0.0.5:41000" // the proxy
	r.Header.Set("X-Forwarded-For", "198.51.100.9, 192.0.2.1")
	fmt.Println(clientIP(r)) // the rightmost address no trusted proxy has: the one the proxy saw

	r.RemoteAddr = "203.0.113.7:52000" // a client reaching the server directly
	fmt.Println(clientIP(r))           // its header is ignored

	// Use it as the address that last_used_ips record and allowed_cidrs
	// are checked against:
	_ = &httpapi.Options{ClientIP: clientIP}
	// Output:
	// 192.0.2.1
	// 203.0.113.7
}

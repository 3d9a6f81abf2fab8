package memstore_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/memstore"
)

// memstore backs a Service in tests and small embeddings; tokens live as
// long as the process.
func Example() {
	ctx := context.Background()
	dir := new(patkit.MemDirectory)
	dir.AddUser(patkit.User{ID: 1, Username: "root", Admin: true})
	key := make([]byte, patkit.MinKeyLen)
	rand.Read(key)
	svc, err := patkit.New(memstore.New(), dir, key, nil)
	if err != nil {
		log.Fatal(err)
	}

	root, err := svc.Principal(ctx, 1, false)
	if err != nil {
		log.Fatal(err)
	}
	_, secret, err := svc.CreateToken(ctx, root, 1, patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{patkit.ScopeReadAPI}})
	if err != nil {
		log.Fatal(err)
	}
	p, err := svc.Authenticate(ctx, secret, patkit.AuthRequest{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.User().Username, p.Token().Name, p.Token().Scopes)
	// Output:
	// root ci [read_api]
}

// After Close every method fails with ErrUnavailable, as on a closed
// database.
func ExampleStore_Close() {
	ctx := context.Background()
	s := memstore.New()
	if err := s.Close(); err != nil {
		log.Fatal(err)
	}
	_, err := s.Get(ctx, 1)
	fmt.Println(err)
	fmt.Println(errors.Is(err, patkit.ErrUnavailable))
	// Output:
	// memstore: get token: patkit: store unavailable: store closed
	// true
}

package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/memstore"
)

func Example() {
	ctx := context.Background()
	s := memstore.New()

	tok := &patkit.Token{
		UserID:    1,
		Name:      "ci",
		Scopes:    []patkit.Scope{patkit.ScopeReadAPI},
		CreatedAt: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
		ExpiresAt: time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC),
		Digest:    []byte("digest of the secret"),
	}
	if err := s.Create(ctx, tok); err != nil {
		log.Fatal(err)
	}

	got, err := s.GetByDigest(ctx, []byte("digest of the secret"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.ID, got.Name, got.Scopes, got.ExpiresAt.Format(time.DateOnly))
	fmt.Println("active:", got.Active(time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)))
	// Output:
	// 1 ci [read_api] 2025-09-01
	// active: true
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

package sqlitestore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/sqlitestore"
)

func Example() {
	dir, err := os.MkdirTemp("", "sqlitestore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	s, err := sqlitestore.Open(ctx, filepath.Join(dir, "patkit.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	// A Service normally fills these in, the digest being a keyed hash of
	// the secret.
	created := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tok := &patkit.Token{
		UserID:    1,
		Name:      "deploy",
		Scopes:    []patkit.Scope{patkit.ScopeReadAPI, patkit.ScopeReadRepository},
		CreatedAt: created,
		ExpiresAt: patkit.Date(created.AddDate(0, 0, 30)),
		Digest:    []byte("32 bytes of HMAC-SHA-256 output."),
	}
	if err := s.Create(ctx, tok); err != nil {
		log.Fatal(err)
	}

	got, err := s.GetByDigest(ctx, []byte("32 bytes of HMAC-SHA-256 output."))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.ID, got.Name, got.Scopes, got.ExpiresAt.Format(time.DateOnly))
	fmt.Println("active:", got.Active(created))
	// Output:
	// 1 deploy [read_api read_repository] 2025-07-01
	// active: true
}

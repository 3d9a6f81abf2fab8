package memstore_test

import (
	"testing"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/memstore"
	"github.com/patkit/patkit/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) patkit.Store {
		s := memstore.New()
		t.Cleanup(func() { s.Close() })
		return s
	})
}

//go:build !race

// The race detector makes sync.Pool drop what is put in it, so these
// counts hold only without it.

package httpapi_test

import (
	"net/http"
	"testing"
)

// TestServeAllocations guards the allocation budget of the two requests
// every host serves most: an authenticated GET answered with a token
// entity, and an unknown token answered 401. Each allocation is also
// garbage the collector must find, on every request.
func TestServeAllocations(t *testing.T) {
	for _, c := range []struct {
		name   string
		secret func(*env) string
		want   int
		max    float64
	}{
		{"valid token", validSecret, http.StatusOK, 10},
		{"unknown token", unknownSecret, http.StatusUnauthorized, 3},
	} {
		serve := serveSelf(t, c.secret, c.want)
		serve() // the use is recorded, the token cached
		if n := testing.AllocsPerRun(100, serve); n > c.max {
			t.Errorf("%s: %v allocations per request, budget %v", c.name, n, c.max)
		}
	}
}

//go:build !race

// The race detector makes sync.Pool drop what is put in it, so these
// counts hold only without it.

package httpapi_test

import (
	"math"
	"net/http"
	"testing"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/httpapi"
)

// TestServeAllocations guards the allocation budget of the two requests
// every host serves most: an authenticated GET answered with a token
// entity, and an unknown token answered 401. Each allocation is also
// garbage the collector must find, on every request. What is left is
// the request's exchange (its status writer, parameters, authentication
// and call together); the Service hands a client's repeated requests one
// Principal, the header values are shared and the entity is on the stack.
func TestServeAllocations(t *testing.T) {
	// examples/server's throttle, with a limit no run reaches: the
	// failures of the one address are counted in a slot it has already.
	throttled := func(_ *patkit.Options, ho *httpapi.Options) {
		ho.FailedAuthLimit = &httpapi.FailedAuthLimit{Limit: math.MaxInt32}
	}
	for _, c := range []struct {
		name   string
		secret func(*env) string
		want   int
		max    float64
		opts   []envOption
	}{
		{"valid token", validSecret, http.StatusOK, 1, nil},
		{"unknown token", unknownSecret, http.StatusUnauthorized, 1, nil},
		{"valid token, throttled", validSecret, http.StatusOK, 1, []envOption{throttled}},
		{"unknown token, throttled", unknownSecret, http.StatusUnauthorized, 1, []envOption{throttled}},
	} {
		serve := serveSelf(t, c.secret, c.want, c.opts...)
		serve() // the use is recorded, the token cached
		if n := testing.AllocsPerRun(100, serve); n > c.max {
			t.Errorf("%s: %v allocations per request, budget %v", c.name, n, c.max)
		}
	}
}

// TestServeListAllocations guards the allocation budget of a page of 20
// tokens on memstore: memstore's copies of the tokens (3 allocations
// each, 60), and httpapi's own, which do not grow with the page (each
// entity is rendered on the stack as it is written, the pagination
// headers share one array).
func TestServeListAllocations(t *testing.T) {
	serve := serveList(t)
	serve()
	const budget = 90
	if n := testing.AllocsPerRun(100, serve); n > budget {
		t.Errorf("%v allocations per page, budget %v", n, budget)
	}
}

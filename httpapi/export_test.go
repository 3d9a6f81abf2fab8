package httpapi

import (
	"net/http"
	"slices"
)

// ThrottledClients returns how many client addresses the failed
// authentication throttle of h remembers.
func ThrottledClients(h *Handler) int { return h.auth.throttle.len() }

// Route is a route of the routing table, for the OpenAPI tests.
type Route struct {
	Method, Path string // the path with the /api/v4 prefix
	// Scopes are the scopes that pass the route, deduplicated and sorted.
	Scopes            []string
	Anonymous, Public bool
}

// Routes returns every route of the routing table.
func Routes() []Route {
	var a api
	var out []Route
	for _, rt := range a.routes() {
		var scopes []string
		for _, s := range rt.allowed(rt.method) {
			scopes = append(scopes, string(s))
		}
		slices.Sort(scopes)
		out = append(out, Route{Method: rt.method, Path: "/api/v4" + rt.path,
			Scopes: slices.Compact(scopes), Anonymous: rt.anonymous, Public: rt.public})
	}
	return out
}

// Dispatch returns the pattern of the route h's own lookup of routes
// without wildcards serves r with ("" when it leaves r to the mux), and
// the pattern the mux matches r with.
func Dispatch(h *Handler, r *http.Request) (literal, mux string) {
	if lr := h.literalRoute(r); lr != nil {
		literal = lr.pattern
	}
	_, mux = h.mux.Handler(r)
	return literal, mux
}

// Clean reports whether the Handler takes the path p as a route's (see
// clean); it answers any other 404.
func Clean(p string) bool { return clean(p) }

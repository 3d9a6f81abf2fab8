package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/patkit/patkit"
)

// scope lists used by routes.
var (
	readUser   = []patkit.Scope{patkit.ScopeReadUser}
	selfRotate = []patkit.Scope{patkit.ScopeAPI, patkit.ScopeSelfRotate}
	anyScope   = patkit.AllScopes()
)

// routes lists every endpoint. ServeMux's precedence puts the literal
// "self" routes before the {id} ones, as GitLab mounts them first.
func (a *api) routes() []route {
	rs := []route{
		// Personal access tokens.
		{method: "GET", path: "/personal_access_tokens", invalid: invalidParam, handle: patRoute((*call).listTokens)},
		{method: "GET", path: "/personal_access_tokens/self", scopes: anyScope, handle: patRoute((*call).getSelf)},
		{method: "DELETE", path: "/personal_access_tokens/self", scopes: anyScope, handle: patRoute((*call).revokeSelf)},
		{method: "POST", path: "/personal_access_tokens/self/rotate", scopes: selfRotate, invalid: invalidBadRequest, handle: patRoute((*call).rotateSelf)},
		{method: "GET", path: "/personal_access_tokens/{id}", handle: patRoute((*call).getToken)},
		{method: "DELETE", path: "/personal_access_tokens/{id}", handle: patRoute((*call).revokeToken)},
		{method: "POST", path: "/personal_access_tokens/{id}/rotate", invalid: invalidBadRequest, handle: patRoute((*call).rotateToken)},

		// User tokens. GitLab registers read_user on every /users
		// and /user route, but it passes only GET and HEAD.
		{method: "POST", path: "/users/{user_id}/personal_access_tokens", readScopes: readUser, invalid: invalidSentence, handle: (*call).createToken},
		{method: "POST", path: "/user/personal_access_tokens", readScopes: readUser, invalid: invalidSentence, handle: (*call).createOwnToken},
		{method: "GET", path: "/users/{user_id}/impersonation_tokens", readScopes: readUser, invalid: invalidParam, handle: (*call).listImpersonation},
		{method: "POST", path: "/users/{user_id}/impersonation_tokens", readScopes: readUser, invalid: invalidFields, handle: (*call).createImpersonation},
		{method: "GET", path: "/users/{user_id}/impersonation_tokens/{impersonation_token_id}", readScopes: readUser, handle: (*call).getImpersonation},
		{method: "DELETE", path: "/users/{user_id}/impersonation_tokens/{impersonation_token_id}", readScopes: readUser, handle: (*call).revokeImpersonation},
	}
	// Identity lookups GitLab's clients make first (GitLab's Users API
	// registers read_user too; /version accepts it as well).
	rs = append(rs,
		route{method: "GET", path: "/user", readScopes: readUser, handle: (*call).currentUser},
		route{method: "GET", path: "/users", readScopes: readUser, anonymous: true, invalid: invalidParam, handle: (*call).listUsers},
		route{method: "GET", path: "/users/{id}", readScopes: readUser, anonymous: true, handle: (*call).getUser},
		route{method: "GET", path: "/version", readScopes: readUser, handle: (*call).version},
		route{method: "GET", path: "/personal_access_tokens/self/associations", scopes: anyScope, invalid: invalidParam, handle: (*call).associations},
	)
	// GitLab's token information API.
	rs = append(rs,
		route{method: "POST", path: "/admin/token", handle: (*call).identifyToken},
		route{method: "DELETE", path: "/admin/token", handle: (*call).revokeBySecret},
	)
	// The OpenAPI document of all of these.
	rs = append(rs, route{method: "GET", path: "/openapi.json", public: true, handle: (*call).openAPI})
	// Project and group access tokens.
	for _, typ := range []patkit.ResourceType{patkit.ResourceProject, patkit.ResourceGroup} {
		base := "/" + string(typ) + "s/{id}/access_tokens"
		res := resourceRoutes{typ}
		rs = append(rs,
			route{method: "GET", path: "/" + string(typ) + "s/{id}", anonymous: true, handle: res.show},
			route{method: "GET", path: base, invalid: invalidParam, handle: res.list},
			route{method: "POST", path: base, invalid: invalidBadRequest, handle: res.create},
			route{method: "POST", path: base + "/self/rotate", scopes: selfRotate, invalid: invalidBadRequest, handle: res.rotateSelf},
			route{method: "GET", path: base + "/{token_id}", handle: res.get},
			route{method: "DELETE", path: base + "/{token_id}", handle: res.revoke},
			route{method: "POST", path: base + "/{token_id}/rotate", invalid: invalidBadRequest, handle: res.rotate},
		)
	}
	return rs
}

// ---------------------------------------------------------------------------
// Personal access tokens

// patUserHook is the before hook of GitLab's personal access token API,
// run on each of its routes before parameters are validated: a
// non-administrator naming in a non-blank user_id anyone but themselves
// gets 401. The decision is the Service's (patkit.Authorize).
func (c *call) patUserHook() error {
	v, named := c.in.vals["user_id"]
	if !named {
		return nil
	}
	if s, _ := scalar(v); strings.TrimSpace(s) == "" {
		return nil
	}
	id, ok := parseInt(v)
	if !ok {
		id = -1 // names nobody
	}
	return patkit.Authorize(c.p, patkit.ReadUserTokens, patkit.Target{OwnerID: id})
}

// patRoute wraps a handler of the personal access token API with its
// before hook.
func patRoute(h func(*call) error) func(*call) error {
	return func(c *call) error {
		if err := c.patUserHook(); err != nil {
			return err
		}
		return h(c)
	}
}

func (c *call) listTokens() error {
	_, named := c.in.vals["user_id"]
	userID, _ := c.c.Int("user_id", false)
	f := c.c.filter()
	if err := c.c.err(); err != nil {
		return err
	}
	var (
		pg  *patkit.Page
		err error
	)
	if named && c.p.Admin() {
		// An administrator's user_id filters, and one that names nobody
		// (empty, say) is 404. For anyone else the before hook admitted
		// only their own ID or a blank one, which mean the same as none.
		pg, err = c.svc.ListUserTokens(c.r.Context(), c.p, userID, f)
	} else {
		pg, err = c.svc.ListTokens(c.r.Context(), c.p, f)
	}
	if err != nil {
		return err
	}
	return c.page(pg, kindWithIPs)
}

func (c *call) getSelf() error {
	t, err := c.svc.SelfToken(c.p)
	if err != nil {
		return err
	}
	return c.entity(http.StatusOK, t, kindBase, "")
}

func (c *call) revokeSelf() error {
	if err := c.svc.RevokeSelf(c.r.Context(), c.p); err != nil {
		return err
	}
	return c.noContent()
}

func (c *call) rotateSelf() error {
	exp := c.c.Date("expires_at")
	if err := c.c.err(); err != nil {
		return err
	}
	t, secret, err := c.svc.RotateSelf(c.r.Context(), c.p, exp)
	if err != nil {
		return err
	}
	return c.entity(http.StatusOK, t, kindBase, secret)
}

func (c *call) tokenID() (int64, error) {
	id, _ := c.c.Int("id", true)
	return id, c.c.err()
}

func (c *call) getToken() error {
	id, err := c.tokenID()
	if err != nil {
		return err
	}
	t, err := c.svc.Token(c.r.Context(), c.p, id)
	if err != nil {
		return err
	}
	return c.entity(http.StatusOK, t, kindWithIPs, "")
}

func (c *call) revokeToken() error {
	id, err := c.tokenID()
	if err != nil {
		return err
	}
	if err := c.svc.RevokeToken(c.r.Context(), c.p, id); err != nil {
		return err
	}
	return c.noContent()
}

func (c *call) rotateToken() error {
	id, _ := c.c.Int("id", true)
	exp := c.c.Date("expires_at")
	if err := c.c.err(); err != nil {
		return err
	}
	t, secret, err := c.svc.RotateToken(c.r.Context(), c.p, id, exp)
	if err != nil {
		return err
	}
	return c.entity(http.StatusOK, t, kindBase, secret)
}

// ---------------------------------------------------------------------------
// User tokens

// tokenOptions reads name, description, scopes, expires_at and
// allowed_cidrs (an extension of patkit's).
func (c *call) tokenOptions(scopesRequired, comma bool, allowed []patkit.Scope) patkit.TokenOptions {
	var o patkit.TokenOptions
	o.Name = c.c.String("name", true)
	o.Description = c.c.String("description", false)
	o.Scopes = c.c.Scopes("scopes", scopesRequired, comma, allowed)
	o.ExpiresAt = c.c.Date("expires_at")
	o.AllowedCIDRs = c.c.CIDRs("allowed_cidrs")
	return o
}

func (c *call) createToken() error {
	userID, _ := c.c.Int("user_id", true)
	o := c.tokenOptions(true, true, patkit.AllScopes())
	if err := c.c.err(); err != nil {
		return err
	}
	t, secret, err := c.svc.CreateToken(c.r.Context(), c.p, userID, o)
	if err != nil {
		return err
	}
	return c.entity(http.StatusCreated, t, kindBase, secret)
}

func (c *call) createOwnToken() error {
	o := c.tokenOptions(true, true, patkit.SelfServiceScopes())
	if err := c.c.err(); err != nil {
		return err
	}
	t, secret, err := c.svc.CreateOwnToken(c.r.Context(), c.p, o)
	if err != nil {
		return err
	}
	return c.entity(http.StatusCreated, t, kindBase, secret)
}

// impersonationAdmin is GitLab's before { authenticated_as_admin! } on the
// impersonation routes: it answers 403 before parameters are validated.
func (c *call) impersonationAdmin() error {
	return patkit.Authorize(c.p, patkit.ManageImpersonation, patkit.Target{})
}

func (c *call) listImpersonation() error {
	if err := c.impersonationAdmin(); err != nil {
		return err
	}
	userID, _ := c.c.Int("user_id", true)
	var f patkit.Filter
	f.State = c.c.state(true)
	f.Page, f.PerPage = c.c.pagination()
	if err := c.c.err(); err != nil {
		return err
	}
	if !c.c.has("state") {
		c.in.link("state", "all") // Grape's default is in params.
	}
	pg, err := c.svc.ListImpersonationTokens(c.r.Context(), c.p, userID, f)
	if err != nil {
		return err
	}
	return c.page(pg, kindImpersonation)
}

func (c *call) impersonationIDs() (userID, id int64, err error) {
	userID, _ = c.c.Int("user_id", true)
	id, _ = c.c.Int("impersonation_token_id", true)
	return userID, id, c.c.err()
}

func (c *call) getImpersonation() error {
	if err := c.impersonationAdmin(); err != nil {
		return err
	}
	userID, id, err := c.impersonationIDs()
	if err != nil {
		return err
	}
	t, err := c.svc.ImpersonationToken(c.r.Context(), c.p, userID, id)
	if err != nil {
		return err
	}
	return c.entity(http.StatusOK, t, kindImpersonation, "")
}

func (c *call) createImpersonation() error {
	if err := c.impersonationAdmin(); err != nil {
		return err
	}
	userID, _ := c.c.Int("user_id", true)
	// No values: check at the API level; the model validates scopes.
	o := c.tokenOptions(false, true, nil)
	if err := c.c.err(); err != nil {
		return err
	}
	t, secret, err := c.svc.CreateImpersonationToken(c.r.Context(), c.p, userID, o)
	if err != nil {
		return err
	}
	return c.entity(http.StatusCreated, t, kindImpersonation, secret)
}

func (c *call) revokeImpersonation() error {
	if err := c.impersonationAdmin(); err != nil {
		return err
	}
	userID, id, err := c.impersonationIDs()
	if err != nil {
		return err
	}
	if since, ok := unmodifiedSince(c.r); ok {
		t, err := c.svc.ImpersonationToken(c.r.Context(), c.p, userID, id)
		if err != nil {
			return err
		}
		// GitLab compares the token's updated_at, which only its creation
		// and its revocation set: a token not yet revoked was last updated
		// when it was created, a revoked one when it was revoked. A token
		// revoked before patkit stored that time has none, and is not
		// checked.
		last := t.CreatedAt
		if t.Revoked {
			last = t.RevokedAt
		}
		if !last.IsZero() && last.After(since) {
			return errPreconditionFailed
		}
	}
	if err := c.svc.RevokeImpersonationToken(c.r.Context(), c.p, userID, id); err != nil {
		return err
	}
	return c.noContent()
}

// unmodifiedSince returns the time of r's If-Unmodified-Since header. As
// GitLab (Ruby's Time.parse), a value that does not parse is ignored;
// accepted are HTTP dates and RFC 3339 / ISO 8601 times.
func unmodifiedSince(r *http.Request) (time.Time, bool) {
	v := strings.TrimSpace(r.Header.Get("If-Unmodified-Since"))
	if v == "" {
		return time.Time{}, false
	}
	if t, err := http.ParseTime(v); err == nil {
		return t, true
	}
	for _, layout := range []string{time.RFC3339Nano, time.RFC1123Z, "2006-01-02T15:04:05Z0700", "2006-01-02 15:04:05 -0700"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// errPreconditionFailed is GitLab's 412 for a resource modified after
// If-Unmodified-Since.
var errPreconditionFailed = &statusError{status: http.StatusPreconditionFailed, msg: "412 Precondition Failed"}

// ---------------------------------------------------------------------------
// Project and group access tokens

type resourceRoutes struct{ typ patkit.ResourceType }

func (c *call) ref() string { return c.r.PathValue("id") }

// resourceTokenID parses token_id, declared a String in GitLab and looked
// up as an ID: one that is not a number finds no token.
func (c *call) resourceTokenID() int64 {
	id, err := strconv.ParseInt(c.r.PathValue("token_id"), 10, 64)
	if err != nil {
		return 0
	}
	return id
}

func (res resourceRoutes) list(c *call) error {
	f := c.c.filter()
	if err := c.c.err(); err != nil {
		return err
	}
	pg, err := c.svc.ListResourceTokens(c.r.Context(), c.p, res.typ, c.ref(), f)
	if err != nil {
		return err
	}
	return c.page(pg, kindResource)
}

func (res resourceRoutes) get(c *call) error {
	t, err := c.svc.ResourceToken(c.r.Context(), c.p, res.typ, c.ref(), c.resourceTokenID())
	if err != nil {
		return err
	}
	return c.entity(http.StatusOK, t, kindResource, "")
}

func (res resourceRoutes) create(c *call) error {
	o := c.tokenOptions(true, false, patkit.ResourceScopes())
	if level, ok := c.c.Int("access_level", false); ok {
		if !patkit.ValidTokenLevel(patkit.AccessLevel(level)) {
			c.c.fail("access_level", "does not have a valid value")
		} else {
			o.AccessLevel = patkit.AccessLevel(level)
		}
	}
	if err := c.c.err(); err != nil {
		return err
	}
	t, secret, err := c.svc.CreateResourceToken(c.r.Context(), c.p, res.typ, c.ref(), o)
	if err != nil {
		return err
	}
	return c.entity(http.StatusCreated, t, kindResource, secret)
}

func (res resourceRoutes) revoke(c *call) error {
	if err := c.svc.RevokeResourceToken(c.r.Context(), c.p, res.typ, c.ref(), c.resourceTokenID()); err != nil {
		return err
	}
	return c.noContent()
}

func (res resourceRoutes) rotate(c *call) error {
	exp := c.c.Date("expires_at")
	if err := c.c.err(); err != nil {
		return err
	}
	t, secret, err := c.svc.RotateResourceToken(c.r.Context(), c.p, res.typ, c.ref(), c.resourceTokenID(), exp)
	if err != nil {
		return err
	}
	return c.entity(http.StatusOK, t, kindResource, secret)
}

func (res resourceRoutes) rotateSelf(c *call) error {
	exp := c.c.Date("expires_at")
	if err := c.c.err(); err != nil {
		return err
	}
	t, secret, err := c.svc.RotateResourceTokenSelf(c.r.Context(), c.p, res.typ, c.ref(), exp)
	if err != nil {
		return err
	}
	return c.entity(http.StatusOK, t, kindResource, secret)
}

// ---------------------------------------------------------------------------
// Token information API (administrators)

// adminTokenParam is the token parameter of /admin/token, after GitLab's
// before hook (authenticated_as_admin!), which answers 401 or 403 before
// parameters are validated.
func (c *call) adminTokenParam() (string, error) {
	if err := patkit.Authorize(c.p, patkit.ManageAnyToken, patkit.Target{}); err != nil {
		return "", err
	}
	secret := c.c.String("token", true)
	return secret, c.c.err()
}

func (c *call) identifyToken() error {
	secret, err := c.adminTokenParam()
	if err != nil {
		return err
	}
	t, err := c.svc.IdentifyToken(c.r.Context(), c.p, secret)
	if err != nil {
		return adminTokenErr(err)
	}
	return c.entity(http.StatusOK, t, kindAdminToken, "")
}

func (c *call) revokeBySecret() error {
	secret, err := c.adminTokenParam()
	if err != nil {
		return err
	}
	if _, err := c.svc.RevokeTokenBySecret(c.r.Context(), c.p, secret); err != nil {
		return adminTokenErr(err)
	}
	return c.noContent()
}

// adminTokenErr gives an unknown token the body GitLab's token information
// API answers: {"message":{"error":"Not found"}}.
func adminTokenErr(err error) error {
	if errors.Is(err, patkit.ErrNotFound) {
		return &statusError{status: http.StatusNotFound, msg: "Not found", nested: true}
	}
	return err
}

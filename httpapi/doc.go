// Package httpapi serves GitLab's access-token REST API (v4) over net/http
// on top of a [patkit.Service], so that GitLab's own API clients work
// against a host service unchanged, and provides middleware that protects
// the host's other routes with the same tokens.
//
// # Endpoints
//
// [New] serves, under /api/v4:
//
//	GET    /personal_access_tokens                       list (filters, sort, search, pagination)
//	GET    /personal_access_tokens/self                  the authenticating token
//	DELETE /personal_access_tokens/self                  revoke it
//	POST   /personal_access_tokens/self/rotate           rotate it
//	GET    /personal_access_tokens/:id
//	DELETE /personal_access_tokens/:id
//	POST   /personal_access_tokens/:id/rotate
//	POST   /users/:user_id/personal_access_tokens        administrators
//	POST   /user/personal_access_tokens                  k8s_proxy, self_rotate only
//	GET    /users/:user_id/impersonation_tokens          administrators
//	POST   /users/:user_id/impersonation_tokens
//	GET    /users/:user_id/impersonation_tokens/:impersonation_token_id
//	DELETE /users/:user_id/impersonation_tokens/:impersonation_token_id
//	GET    /projects/:id/access_tokens                   and the same six for /groups/:id
//	POST   /projects/:id/access_tokens
//	GET    /projects/:id/access_tokens/:token_id
//	DELETE /projects/:id/access_tokens/:token_id
//	POST   /projects/:id/access_tokens/:token_id/rotate
//	POST   /projects/:id/access_tokens/self/rotate
//	POST   /admin/token                                  administrators: whose token is this secret?
//	DELETE /admin/token                                  administrators: revoke it
//
// and the lookups GitLab's clients make before they manage tokens (glab
// resolves --user @me and --user NAME with the first two; python-gitlab's
// gl.auth(), users.get, projects.get, groups.get and version() call them):
//
//	GET    /user                                         read_user, api, read_api
//	GET    /users?username=NAME                          the same; anonymous callers too
//	GET    /users                                        search=, filters, pagination; signed in
//	GET    /users/:id                                    read_user, api, read_api; signed in
//	GET    /projects/:id                                 api, read_api; anonymous: public ones
//	GET    /groups/:id                                   api, read_api; anonymous: public ones
//	GET    /version                                      read_user, api, read_api
//	GET    /personal_access_tokens/self/associations     any scope
//
// and a description of all of these:
//
//	GET    /openapi.json                                 the OpenAPI 3.1 document; no credential
//
// GET /user answers the user the token acts as (the impersonated user of
// an impersonation token, the bot of a project or group token, the Sudo
// target under Sudo) as GitLab's UserPublic entity, or UserWithAdmin
// (is_admin, note, ...) when that user is an administrator, admin mode or
// not. GET /users answers UserBasic (UserWithAdmin to callers acting as
// administrators), GET /users/:id User (UserDetailsWithAdmin); see
// https://docs.gitlab.com/api/users/. Anonymous callers get 403
// {"message":"403 Forbidden - Not authorized to access /api/v4/users"}
// from GET /users without a username and 403 {"message":"403 Forbidden -
// Not authorized!"} from GET /users/:id; an unknown user is 404
// {"message":"404 User Not Found"}, and a :id that is not a number does
// not match the route (404 {"message":"404 Not Found"}). username matches
// exactly, without regard to case: 0 or 1 users. search= and the list of
// every user need a Directory that is a patkit.UserSearcher; without one,
// search= finds only the user whose username equals the term, and a list
// without username or search is empty.
//
// GET /projects/:id answers GitLab's ProjectWithAccess entity (with
// permissions; ProjectDetails, without them, to anonymous callers) and GET
// /groups/:id its Group entity (https://docs.gitlab.com/api/projects/,
// https://docs.gitlab.com/api/groups/). What the caller may not see is the
// same 404 as what does not exist ({"message":"404 Project Not Found"},
// {"message":"404 Group Not Found"}), as is every project and group when
// the Directory is not a patkit.ResourceDirectory.
//
// GET /version answers {"version":"19.6.0","revision":"0739b8bf",
// "patkit":"<patkit's module version>"}: the GitLab release whose API
// patkit follows (patkit.GitLabVersion; clients that gate features on the
// version choose by it), and patkit's own version in a field GitLab's
// clients ignore.
//
// GET /personal_access_tokens/self/associations answers
// {"groups":[...],"projects":[...]}, the groups and projects the token's
// user is a member of (min_access_level filters), each list paginated with
// the same page and per_page and the headers describing the projects, as
// GitLab writes them last
// (https://docs.gitlab.com/api/personal_access_tokens/). Memberships come
// from a Directory that is a patkit.MembershipDirectory; without one both
// lists are empty.
//
// Fields of these entities that patkit does not know are null, or GitLab's
// default for a new user or group where that default is certain: a user's
// email, public_email, avatar_url and created_at are null, bio and the
// profile strings "", followers 0, identities [], two_factor_enabled,
// external and private_profile false, theme_id, projects_limit,
// can_create_group and can_create_project null, highest_role 0; a
// project's description (when the host gives none), created_at,
// last_activity_at, avatar_url and clone URLs are null, tag_list and
// topics [], star_count 0, notification_level 3 (global); a group's
// settings are GitLab's defaults for a new group (two-factor grace period
// 48, project creation by Developers, subgroups by Maintainers, branch
// protection 2, organization 1). visibility is "public" for a Resource
// marked Public and "private" otherwise. web_url is on
// [Options.ExternalURL] (relative without it, as Link URLs).
//
// The last two are GitLab's token information API
// (https://docs.gitlab.com/api/admin/token/): the token parameter holds a
// secret of any kind; the answer is the PersonalAccessToken entity
// (never the secret) followed by the expiry notice columns that GitLab's
// documentation of this API shows (expire_notification_delivered,
// seven_days_notification_sent_at, thirty_days_notification_sent_at,
// sixty_days_notification_sent_at, after_expiry_notification_delivered;
// see patkit.Service.SendExpiryNotices; GitLab's own code omits them,
// and clients ignore them), 404 {"message":{"error":"Not found"}} for a
// secret no token has, and 422 {"message":"Token type not supported."}
// for a value without the instance's prefix.
//
// # OpenAPI document
//
// GET /api/v4/openapi.json answers an OpenAPI 3.1 document
// (https://spec.openapis.org/oas/v3.1.1) of every endpoint the Handler
// serves: parameters (with their array and comma-separated forms),
// request bodies, every status each endpoint answers with its body in
// GitLab's error shapes, the pagination headers, the five places a token
// may be sent (security schemes) and the scopes each endpoint accepts. It
// needs no credential and reads none: a token sent with it is ignored and
// never counted by [Options.FailedAuthLimit]. It is served as
// application/json with a strong ETag and Cache-Control: no-cache, so a
// client revalidates it with If-None-Match (304). Its server URL is
// [Options.ExternalURL] followed by /api/v4, or without one /api/v4 on the
// document's own host.
//
// The document cannot drift from the Handler: httpapi's tests fail when a
// route is missing from it or it names one that is not served, when an
// endpoint's security or stated scopes differ from the route's, and when a
// response the tests produce (several thousand, every endpoint) has a
// status, a header or a body the document does not describe. The token
// and user entities admit no field the document does not name.
//
// A project or group :id is a numeric ID or a URL-encoded full path
// (acme%2Fwidgets). Statuses, bodies, headers and entities follow GitLab's
// (https://docs.gitlab.com/api/personal_access_tokens/ and its siblings):
// credentials from the private_token parameter, the PRIVATE-TOKEN header,
// the access_token parameter, Authorization: Bearer or the bearer_token
// parameter (a header sent twice is one value joined with ", ", as
// GitLab's Rack server joins it, so it names no token and no Sudo
// user; a credential or sudo parameter repeated is its last value, as
// Rack reads it); the invalid_token failures with WWW-Authenticate; the scope
// rule and its insufficient_scope body; Sudo (header or parameter); the
// four error shapes, with 400 or 422 as GitLab renders each endpoint's
// validation failures; 201 on create, 200 on rotate, 204 with an empty body
// on revoke; offset pagination headers with Link URLs on
// [Options.ExternalURL]. Parameters come from the query string and from
// JSON, URL-encoded or multipart bodies; arrays as scopes[]=a&scopes[]=b,
// as JSON arrays and, on the user, impersonation and administrator create
// endpoints, as a comma-separated string.
//
// Errors of the Service map to statuses in one table:
//
//	patkit.ErrUnauthorized          401 {"message":"401 Unauthorized"}
//	patkit.ErrTokenExpired, ...     401 {"error":"invalid_token",...} + WWW-Authenticate
//	patkit.ErrInsufficientScope     403 {"error":"insufficient_scope",...,"scope":"..."}
//	patkit.ErrForbidden             403 {"message":"403 Forbidden[ - reason]"}
//	patkit.ErrNotFound              404 {"message":"404 <what> Not Found"}
//	patkit.ErrBadRequest            400 {"message":"400 Bad request - <reason>"}
//	patkit.ErrNotAllowed            405 {"message":"405 Method Not Allowed"}
//	patkit.ErrInvalid               422 {"message":"<sentence>"} (admin and self create),
//	                                400 {"message":{"<field>":[...]}} (impersonation create),
//	                                400 {"message":"400 Bad request - <sentence>"} (the rest)
//	patkit.ErrUnavailable           503 {"message":"503 Service Unavailable"}
//	anything else                   500 {"message":"500 Internal Server Error"}, logged
//
//	context.Canceled (client gone)  499, logged at Debug
//
// # Middleware
//
// The [Handler] that New returns also protects a host's own routes with
// the same tokens and the same Options: mount the Handler at /api/v4/, and
// wrap each protected route in [Handler.RequireScopes], which authenticates
// the request and admits only a token passing GitLab's scope rule for the
// route. [Handler.Authenticate] is for routes that serve anonymous and
// signed-in users alike: it puts the principal, if any, in the request
// context ([PrincipalFrom]). A request authenticated by the middleware is
// not authenticated again by the API, so wrapping the whole mux in
// Authenticate costs nothing. Requests the host signs in itself (a session)
// carry a principal from patkit.Service.Principal, set with
// [WithPrincipal].
//
// # Robustness
//
// A request body is read only after the credential in the headers or the
// query string has authenticated, so that nobody without a token can make
// the server hold one; a form body is also read when nothing else carries a
// credential, since GitLab accepts private_token there, but then only up to
// 64 KiB. Bodies are limited to [Options.MaxBodyBytes] (413 beyond) and to
// [Options.BodyReadTimeout] (408 beyond). Malformed input answers 4xx in GitLab's shapes; a panic is
// recovered, logged and answered 500 with a generic body.
//
// Failed authentication can be throttled by client address
// ([Options.FailedAuthLimit], off by default): after too many failures an
// address gets GitLab's 429 throttle answer before any token is looked at,
// in a table of bounded size. Client addresses come from
// [Options.ClientIP], which must read forwarding headers only when a
// trusted proxy sets them; [ForwardedFor] does that for X-Forwarded-For.
//
// # Extensions: network-bound tokens and rotation grace
//
// Two features GitLab does not have, invisible to a client that does not
// use them:
//
//   - allowed_cidrs, on the four create endpoints (POST
//     /users/:user_id/personal_access_tokens, /user/personal_access_tokens,
//     /users/:user_id/impersonation_tokens and
//     /{projects,groups}/:id/access_tokens): the networks the token may be
//     used from, as an array (allowed_cidrs[]=10.0.0.0/8, a JSON array) or
//     comma-separated (allowed_cidrs=10.0.0.0/8,192.0.2.7), each a CIDR
//     prefix or a bare address (/32 or /128); IPv6 is accepted. Empty
//     values are dropped, so that an omitted, empty or [] allowed_cidrs
//     means no restriction. A value that does not parse (a host name, a
//     zone, a bad length) answers 400 {"error":"allowed_cidrs is
//     invalid"}, more than patkit.MaxAllowedCIDRs 400 {"error":"allowed_cidrs
//     is expected to have length less than or equal to 32"}. The token
//     keeps them normalized (patkit.NormalizeCIDRs: masked, IPv4-mapped
//     IPv6 unmapped, duplicates dropped, sorted), its rotations keep them,
//     and every entity of a bound token shows them as "allowed_cidrs"
//     (omitted for a token bound to no network, so GitLab's clients see
//     GitLab's entities). A bound token presented from another address,
//     or from one [Options.ClientIP] cannot tell, answers 401
//     {"error":"invalid_token","error_description":"Token is not allowed
//     from this IP address. It is restricted to its allowed_cidrs."}.
//     GitLab's clients can send allowed_cidrs as an extra field, and
//     otherwise simply omit it.
//   - With patkit.Options.RotationGrace, a token rotated less than that
//     long ago still authenticates, but a rotation with it (self-rotation,
//     or rotation by ID of it or with it) answers 400 {"message":"400 Bad
//     request - Token already rotated: use the token that replaced it"}
//     and revokes nothing; its entity shows "revoked":true. Without it,
//     such a rotation is GitLab's reuse detection, as documented above.
//
// The handler cannot bound what happens before it runs. Serve it with an
// http.Server that does, for example:
//
//	srv := &http.Server{
//		Handler:           h,
//		ReadHeaderTimeout: 10 * time.Second, // slow headers
//		ReadTimeout:       20 * time.Second, // headers and body; BodyReadTimeout cuts bodies sooner
//		IdleTimeout:       60 * time.Second, // idle keep-alive connections
//		MaxHeaderBytes:    64 << 10,         // request line and headers (the default is 1 MiB)
//	}
//
// A WriteTimeout also bounds slow readers of answers, and every handler's
// run time with them; no answer of this package is large.
//
// Logs never contain headers or bodies. The logged path and query are the
// request's target as the client sent it (a prefix the host's mux strips
// is logged too), cut at 2 KiB (ending "[TRUNCATED]"), and "[REDACTED]"
// replaces the value of every parameter whose name contains "token"
// (after decoding, NUL removal, trimming and case folding: private_token,
// PRIVATE-TOKEN, private_token%00, token...), and anywhere in the path or
// query whatever looks like a secret: the Service's secret prefix and the
// base64url characters after it, a GitLab token shape (glpat-, gldt-... and 20 or more
// characters), and any run of 34 or more base64url characters, the length
// of a secret without its prefix. The last rule catches a secret whatever
// its prefix, and also redacts long words such as a search term of 34
// letters.
//
// # Deviations from GitLab
//
// Deliberate, or where GitLab's behaviour could not be verified:
//
//   - A known path with another method answers 404 {"message":"404 Not
//     Found"}, as GitLab's catch-all route does, not 405. OPTIONS is not
//     answered with Allow, and the ".json" path suffix is not routed.
//   - A request with no credential in its headers or query string is
//     answered 401 without reading its body, unless the body is a form:
//     GitLab's parsers would answer a malformed JSON body 400 first. A
//     credential in the headers or query string is used before one in a
//     form body (GitLab looks at a private_token parameter, form body
//     included, before the PRIVATE-TOKEN header), and a form body that
//     must be read to find the credential answers 413 beyond 64 KiB.
//   - [Options.FailedAuthLimit] counts only credentials that fail, and then
//     refuses every credential of the address; GitLab's nearest throttle,
//     throttle_unauthenticated_api, whose name and 429 answer it uses,
//     counts every request that does not authenticate.
//   - A body slower than [Options.BodyReadTimeout] answers 408
//     {"message":"408 Request Timeout"} and closes the connection.
//   - Malformed JSON answers 400 {"message":"400 Bad request - Malformed
//     JSON"}, and a malformed percent-encoding in the query or a form body
//     400 {"message":"400 Bad request - Malformed request parameters"}.
//     GitLab's texts for these (Grape's InvalidMessageBody, Rack's
//     parameter errors) were not verified. JSON that is not an object is
//     ignored, as are bodies of other content types (GitLab may answer 415).
//   - A JSON null counts as an absent parameter, so a required one is
//     "is missing".
//   - A date or time parameter naming the first instant of year 1
//     (0001-01-01, 0001-01-01T00:00:00Z) answers 400 "<name> is invalid":
//     it is the zero time.Time, which the Service reads as no date given.
//     GitLab accepts it (an expiry already past, a bound no token
//     precedes).
//   - A repeated parameter without brackets (scopes=a&scopes=b) is read as
//     a list, and on project and group create a single scopes=api as a list
//     of one; Rack would keep only the last value, and Grape would then
//     answer "scopes is invalid" there. A comma-separated string is split
//     only where GitLab splits it.
//   - Without [Options.ExternalURL] Link URLs are relative unless the
//     Host header names the address the connection was accepted on;
//     GitLab always writes them on its configured external URL, and
//     python-gitlab needs them absolute.
//   - Link URLs repeat the original query values as sent (GitLab writes
//     Grape's coerced values, e.g. revoked=true for revoked=1); like
//     Grape's params they include path parameters and, on the
//     impersonation list, the default state=all. Credentials sent as query
//     parameters are repeated too, as GitLab does.
//   - GET /personal_access_tokens/self answers the base entity, without
//     last_used_ips (verified for GitLab 18.x; unverified for 19.x). Create
//     and rotate responses of personal access tokens include
//     "last_used_ips":[] as GitLab's 19.4+ documentation shows.
//   - description is null when empty: the Service does not distinguish an
//     empty description from none. granular is always false; granular_scopes
//     and the expired field are not produced, and POST
//     /user/personal_access_tokens requires scopes. Without name and scopes
//     the create endpoints answer GitLab 18's 400 {"error":"name is
//     missing, scopes is missing"}, not GitLab 19's "scopes,
//     granular_scopes are missing, exactly one parameter must be
//     provided": that message offers a parameter patkit does not accept.
//   - GET /{projects,groups}/:id/access_tokens/self is an unknown token
//     (404), as in the GitLab code read; a non-numeric :token_id finds no
//     token (Rails would cast "12abc" to 12).
//   - A non-administrator naming any user_id but their own ID on GET
//     /personal_access_tokens gets 401 before validation (GitLab also
//     accepts their username there, then fails validation with 400). An
//     administrator with an empty user_id or 0 gets 404.
//   - If-Unmodified-Since on impersonation token revocation answers 412
//     {"message":"412 Precondition Failed"}, leaving the token as it was,
//     when the token last changed after that time, as GitLab compares its
//     updated_at: its creation, or for a revoked token its revocation. A
//     token revoked before patkit stored revocation times has none, and
//     the header is then ignored. HTTP dates and RFC 3339 times are read;
//     any other value is ignored, as GitLab ignores what Ruby's Time.parse
//     refuses.
//   - GET /projects/:id leaves out default_branch, readme_url and
//     forks_count (patkit has no repositories; GitLab leaves them out for
//     callers who may not read code) and the owner of personal projects,
//     and does not follow redirects of renamed projects (301). GET
//     /groups/:id leaves out projects and shared_projects, as GitLab does
//     with with_projects=false. A personal namespace's id is its user's ID.
//     statistics, license, with_projects and with_custom_attributes are
//     validated and ignored.
//   - GET /users validates order_by, sort, two_factor, created_after,
//     created_before and its Boolean filters but applies only active,
//     blocked, admins (for administrators) and without_project_bots;
//     results are by ID, newest first. extern_uid and provider find
//     nobody (patkit knows no identities). A repeated username
//     (username=a&username=b) is a list and answers 400 "username is
//     invalid", as for every parameter (see below).
//   - GET /users/:id is not rate-limited, and user names are never
//     redacted for any viewer. A bot's email (GitLab: <username>@noreply.<host>) is null.
//   - GET /personal_access_tokens/self/associations lists memberships
//     only, whatever min_access_level; GitLab's finders may also list
//     public groups and projects without it. A bot user the Service
//     manages (see patkit.BotDirectory) lists its token's resource.
//   - An empty Sudo value is ignored; per_page below 1 is 20 and page is
//     capped at 2^31-1.
//   - There are no OAuth tokens, so the 400 and 405 answers GitLab gives
//     OAuth callers of the self endpoints only occur for principals without
//     token (see [WithPrincipal]).
package httpapi

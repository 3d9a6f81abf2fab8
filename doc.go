// Package patkit gives a Go service GitLab-compatible access tokens:
// personal access tokens, impersonation tokens, and project and group
// access tokens, with scopes, expiry rules, rotation with reuse detection,
// revocation and last-used tracking.
//
// A host builds one [Service] from a [Store] (memstore, sqlitestore or
// pgstore), a [Directory] (its own users, projects and groups) and an
// instance key ([LoadOrCreateKey]), then either mounts the REST endpoints of package httpapi or
// calls the Service directly. The root package imports only the standard
// library.
//
// # Tokens
//
// A [Token] is stored without its secret. A secret is the prefix ("glpat-"
// by default), 160 random bits in unpadded base64url, and a CRC-32 checksum
// in base36 (7 characters): 40 characters in all with the default prefix.
// [Service.Authenticate] rejects a mistyped or truncated secret by its
// length, alphabet and checksum before any storage access. Only
// HMAC-SHA-256(instance key, secret) is stored, indexed uniquely; a store
// read with another key authenticates nothing. HMAC was chosen over GitLab's
// SHA-256 with a pepper: with its keyed state reused it costs about 50ns
// more per authentication (BenchmarkDigest: ~260ns against ~210ns) and is
// the standard construction for a keyed digest.
//
// A token expires at 00:00 UTC of its expiry date, and is active when it is
// neither revoked nor expired. Rotation revokes a token and creates its
// successor in one Store transaction; the successor's PreviousID links the
// family. Presenting a revoked token on a rotation path
// ([AuthRequest].Rotate) revokes every active descendant: a rotated-away
// token is being reused.
//
// # Authorization
//
// A [Principal] is who makes a request. Only a Service makes one:
// [Service.Authenticate] from a secret, [Service.Sudo] for the Sudo header,
// and [Service.Principal] for a user the host authenticated itself (a
// session), so administrator rights, [Options].AdminMode and the blocked
// state are always applied. A hand-built Principal is anonymous.
//
// [Allowed] is GitLab's policy as a pure function of principal, action and
// target, and [Authorize] the same decision with GitLab's answer for a
// refusal (401, 403, 400 or 404, with GitLab's words). Every Service method
// decides through it, and package httpapi calls it for the checks GitLab
// makes before reading parameters, so the two layers cannot disagree. Scope
// checks belong to the caller that knows the endpoint: [AllowedScopes] and
// [CheckScopes] implement GitLab's rule (the endpoint's scopes, plus api,
// plus read_api for reads). What a form may offer is decided here too, so
// that a page and the Service cannot disagree: [ScopesFor] (the scopes a
// user may give their own token on GitLab's token page),
// [GrantableLevels] and [Service.TokenLevels] (the roles a member may
// give a project or group token), and [Service.ExpiryLimit].
//
// # Directory
//
// A host tells patkit about its users through a [Directory] of two
// methods. Other abilities are optional, found by type assertion as
// database/sql finds a driver's: [ResourceDirectory] (projects, groups and
// memberships, for project and group access tokens and the project and
// group lookups; without it those endpoints answer 404), [BotDirectory]
// (the host creates the bot users of those tokens; without it the Service
// manages them itself, known from the tokens it stores, so they survive
// restarts and are shared by every instance of a database),
// [UserSearcher] (user searches and lists, GET /users; without it a search
// finds only the user of that exact username) and [MembershipDirectory] (a
// user's groups and projects, GET
// /personal_access_tokens/self/associations; without it both lists are
// empty). [MemDirectory] has them all.
//
// # Identity lookups
//
// GitLab's clients look up the current user, users, projects, groups and
// the version before they manage tokens. [Service.CurrentUser],
// [Service.User], [Service.Users], [Service.Resource] and
// [Service.Associations] answer those lookups with GitLab's authorization
// (anonymous callers may look a user up by username and see public
// projects and groups, but not read users by ID or list them); package
// httpapi renders GitLab's entities. A [Resource]'s Name, Description and
// CreatedAt, all optional, describe it there.
//
// # Events
//
// With [Options].OnEvent set, a Service emits an [Event] for every change
// to a token once the Store has stored it, every reuse of a rotated-away
// token, every first use from a new client address, and the expiry
// notices of [Service.SendExpiryNotices]. Delivery never blocks a request:
// events wait in a bounded buffer drained in order by a goroutine of the
// Service, which runs only while there are events; a full buffer drops
// them and a panicking handler is recovered, both counted
// ([Service.EventStats]); [Service.Flush] waits for delivery. Event IDs
// are UUIDv7s.
//
// # Errors
//
// A refusal is an [*Error] whose Code is one sentinel (ErrNotFound,
// ErrUnauthorized, ErrForbidden, ErrBadRequest, ErrInvalid, ErrNotAllowed,
// ErrInsufficientScope, ErrTokenExpired, ErrTokenRevoked,
// ErrImpersonationDisabled, ErrAddressNotAllowed), with GitLab's wording in Message or, for
// validation, Fields. Any other error is a failure of the Store, the
// Directory or the context, wrapped with the operation: ErrUnavailable when
// the database could not be reached, context.Canceled or
// context.DeadlineExceeded when ctx ended, anything else a fault. A failed
// operation changes nothing.
//
// # Choices where GitLab is unclear or differs by version
//
//   - Defaults follow GitLab 19.x: expiry required, 365 days at most
//     (equality accepted), admin and self-created tokens default to the
//     maximum, impersonation tokens get no default, project and group tokens
//     default to the maximum, rotation to today + 7 days.
//   - Self-created tokens (POST /user/personal_access_tokens) may hold
//     k8s_proxy and self_rotate.
//   - Every admin-only scope (sudo, admin_mode, read_service_ping) needs an
//     administrator owner; GitLab's message for sudo is reused for the
//     others ("Admin mode can only be enabled for administrators").
//   - A project or group token's AccessLevel is its bot's current level in
//     the resource, read from the Directory on every get, list and rotate
//     (a rotated token keeps it); a bot that lost its membership shows the
//     level the token was created with.
//   - Expiry notices ([Service.SendExpiryNotices]) follow GitLab's windows
//     (60, 30 and 7 days, then expired, only the one whose window holds the
//     token) but are emitted for impersonation tokens too, which GitLab
//     skips; Event.Token.Impersonation tells them apart. The expired notice
//     is sent whenever a sweep first finds the token expired (GitLab sends
//     it on the day of expiry only), and not for tokens that had expired
//     when the stores' notice migration ran.
//   - Fine-grained (granular) tokens, service accounts and OAuth tokens are
//     not implemented.
//   - Two features are patkit's own, off unless asked for: tokens bound to
//     networks ([TokenOptions].AllowedCIDRs, checked against
//     [AuthRequest].RemoteIP) and a grace window after rotation
//     ([Options].RotationGrace; without it a rotated token fails at once,
//     as in GitLab).
//   - GET /version reports GitLab 19.6.0 ([GitLabVersion]), the release
//     whose source the API was read in, so that clients gating features on
//     the version treat patkit as a GitLab 19.x; patkit's own version
//     ([Version]) is in a field of its own.
//
// # Implementing a Store
//
// A Store persists tokens and nothing else: no policy, no hashing, no
// clock. What a list filter and a sort mean is defined once, as code:
// [Query.Match] and [Sort.Compare]; a Store translates them (memstore
// applies them as they are). Run the conformance suite of package
// storetest against it; it is the complete contract, checking every list
// against Match and Compare, the 10,000-row count cut-off, cancelled
// contexts, use after Close, and concurrent rotation with exactly one
// winner. A Store whose database serves several processes should also be
// a [Watcher], one that can revoke a rotation family in one
// transaction a [FamilyRevoker], and one that can claim expiry notices
// atomically a [NoticeClaimer] (SendExpiryNotices needs it).
package patkit

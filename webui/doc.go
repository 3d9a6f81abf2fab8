// Package webui is the self-service token pages for people, as an
// http.Handler: GitLab's personal access token page, the project and
// group access token pages, and the administrators' credentials
// inventory, rendered with html/template and plain forms.
//
// The host owns sign-in: Options.Principal tells the Handler who the
// signed-in user is (build the Principal with Service.Principal from the
// host's session). Mount it at the root of the host's mux:
//
//	ui := webui.New(svc, &webui.Options{Principal: signedIn})
//	mux.Handle("/", ui)
//
// It answers on GitLab's paths and 404 elsewhere:
//
//	/-/user_settings/personal_access_tokens               the user's tokens; POST creates
//	/-/user_settings/personal_access_tokens/<id>/rotate   GET asks, POST rotates
//	/-/user_settings/personal_access_tokens/<id>/revoke   GET asks, POST revokes
//	/<project path>/-/settings/access_tokens[/<id>/...]   a project's tokens (Maintainers)
//	/groups/<group path>/-/settings/access_tokens[/...]   a group's tokens (Owners)
//	/admin/credentials[/<id>/revoke]                      every token (administrators)
//	/-/patkit/static/                                     the style sheet and copy script
//
// # What it guarantees
//
// Every action is a call of the Service, which applies patkit's policy:
// the scopes offered are ScopesFor the user (or ResourceScopes), the roles
// offered GrantableLevels, and whatever a form posts is checked again by
// the Service. A page or token the user may not see, or no longer may, is
// 404, as in the API.
//
// A new secret is shown once, in the response to the POST that created or
// rotated it, never in a URL, a cookie or a log; every page is sent with
// Cache-Control: no-store. Pages carry a Content-Security-Policy that
// allows only this origin's own style sheet and script (no inline code),
// forbid framing, and the only script is the copy button's: everything
// works without JavaScript. Forms posted from another origin are refused
// by http.CrossOriginProtection, and every form names the user it was
// made for, so one posted after another user signed in (a stale tab) is
// refused too; neither changes anything. Other changes answer with a
// redirect (Post/Redirect/Get). A form with missing or invalid fields is
// shown again with GitLab's messages beside the fields and what was typed.
//
// # Deviations from GitLab
//
// Rotation and revocation are confirmed on a page of their own, so that
// they work without JavaScript. Each create form carries a random
// form_id, and a form sent twice (reloading the page that shows a new
// secret re-posts it) creates one token: the second post answers 409
// and shows no secret. The IDs are remembered by the process (the newest
// 4,096), so a re-post that another instance receives is not recognized. The inventory filters by name, owner,
// state, kind of token and expiry within a week. Lists show the 100 most
// recent inactive tokens.
package webui

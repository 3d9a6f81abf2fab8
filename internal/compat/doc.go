// Package compat holds end-to-end compatibility tests that drive the
// httpapi handler with GitLab's official Go client,
// gitlab.com/gitlab-org/api/client-go, through every access-token method the
// client offers: personal access tokens, user and impersonation tokens, and
// project and group access tokens, including rotation and the self routes.
//
// It is a separate module (with a replace directive pointing at the
// repository root) so that the library's own go.mod never requires the
// client. Run the tests from this directory:
//
//	go test -race ./...
package compat

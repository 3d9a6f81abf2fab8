// Package httpapi serves GitLab's access-token REST API (v4) over net/http
// on top of a patkit.Service, and provides middleware that protects a
// host's own routes with the same tokens.
//
// TODO: full package documentation.
package httpapi

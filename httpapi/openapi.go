package httpapi

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"strings"
)

// openAPIDocument is the OpenAPI 3.1 description of every endpoint the
// Handler serves, answered at GET /api/v4/openapi.json. Its tests hold it
// to the routing table both ways and validate every response httpapi's
// tests produce against it.
//
//go:embed openapi.json
var openAPIDocument []byte

// openAPIETag is the strong entity tag of openAPIDocument.
var openAPIETag = func() string {
	sum := sha256.Sum256(openAPIDocument)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}()

// openAPI answers the OpenAPI document: no credential is read, and a
// client holding the current version (If-None-Match) gets 304.
func (c *call) openAPI() error {
	h := c.w.Header()
	h.Set("ETag", openAPIETag)
	h.Set("Cache-Control", "no-cache")
	if etagMatches(c.r.Header.Get("If-None-Match"), openAPIETag) {
		c.w.WriteHeader(http.StatusNotModified)
		return nil
	}
	writeBody(c.w, http.StatusOK, openAPIDocument)
	return nil
}

// etagMatches reports whether the If-None-Match value header names etag,
// by the weak comparison RFC 9110 prescribes for it.
func etagMatches(header, etag string) bool {
	for v := range strings.SplitSeq(header, ",") {
		v = strings.TrimSpace(v)
		if v == "*" || strings.TrimPrefix(v, "W/") == etag {
			return true
		}
	}
	return false
}

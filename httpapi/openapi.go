package httpapi

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
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

// openAPIServers is the servers entry of openAPIDocument: /api/v4 on the
// document's own host.
const openAPIServers = `"servers": [{"url": "/api/v4", "description": "Relative to this document's host."}]`

// openAPIDoc is the document a Handler serves, and its strong entity tag.
type openAPIDoc struct {
	doc  []byte
	etag string
}

// newOpenAPIDoc returns the document with its server URL on externalURL
// (Options.ExternalURL, which includes any path prefix the API is mounted
// under) when there is one.
func newOpenAPIDoc(externalURL string) openAPIDoc {
	doc := openAPIDocument
	if externalURL != "" {
		u, _ := json.Marshal(externalURL + "/api/v4") // a string always encodes
		doc = bytes.Replace(doc, []byte(openAPIServers), []byte(`"servers": [{"url": `+string(u)+`}]`), 1)
	}
	sum := sha256.Sum256(doc)
	return openAPIDoc{doc: doc, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
}

// openAPI answers the OpenAPI document: no credential is read, and a
// client holding the current version (If-None-Match) gets 304.
func (c *call) openAPI() error {
	h := c.w.Header()
	h.Set("ETag", c.oas.etag)
	h.Set("Cache-Control", "no-cache")
	if etagMatches(c.r.Header.Get("If-None-Match"), c.oas.etag) {
		c.w.WriteHeader(http.StatusNotModified)
		return nil
	}
	writeBody(c.w, http.StatusOK, c.oas.doc)
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

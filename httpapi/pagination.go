package httpapi

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/patkit/patkit"
)

// page answers one page of tokens with GitLab's offset pagination headers
// (https://docs.gitlab.com/api/rest/#offset-based-pagination).
func (c *call) page(pg *patkit.Page, kind entityKind) error {
	h := c.w.Header()
	h.Set("X-Page", strconv.Itoa(pg.Page))
	h.Set("X-Per-Page", strconv.Itoa(pg.PerPage))
	// Kaminari: no next or previous page from a page out of range.
	last := pg.TotalPages()
	outOfRange := last >= 0 && pg.Page > last || last < 0 && len(pg.Tokens) == 0 && pg.Page > 1
	next, prev := "", ""
	if pg.HasNext() && !outOfRange {
		next = strconv.Itoa(pg.Page + 1)
	}
	if pg.Page > 1 && !outOfRange {
		prev = strconv.Itoa(pg.Page - 1)
	}
	h.Set("X-Next-Page", next)
	h.Set("X-Prev-Page", prev)
	if last >= 0 {
		h.Set("X-Total", strconv.Itoa(pg.Total))
		h.Set("X-Total-Pages", strconv.Itoa(last))
	}
	var links []string
	link := func(page int, rel string) {
		links = append(links, "<"+c.pageURL(page, pg.PerPage)+`>; rel="`+rel+`"`)
	}
	if prev != "" {
		link(pg.Page-1, "prev")
	}
	if next != "" {
		link(pg.Page+1, "next")
	}
	link(1, "first")
	if last >= 0 {
		link(last, "last")
	}
	h.Set("Link", strings.Join(links, ", "))
	return c.json(http.StatusOK, entities(pg.Tokens, kind, c.svc.Now()))
}

// pageURL is the request URL on the external host with every original
// query parameter and the path parameters, page and per_page set, encoded
// as Rails' to_query does (pairs sorted).
func (c *call) pageURL(page, perPage int) string {
	params := url.Values{}
	maps.Copy(params, c.in.query)
	maps.Copy(params, c.in.linkParams)
	params.Set("page", strconv.Itoa(page))
	params.Set("per_page", strconv.Itoa(perPage))
	var pairs []string
	for k, vs := range params {
		for _, v := range vs {
			pairs = append(pairs, url.QueryEscape(k)+"="+url.QueryEscape(v))
		}
	}
	slices.Sort(pairs)
	return c.baseURL() + c.r.URL.EscapedPath() + "?" + strings.Join(pairs, "&")
}

func (c *call) baseURL() string {
	if c.opts.ExternalURL != "" {
		return c.opts.ExternalURL
	}
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + c.r.Host
}

package httpapi

import (
	"maps"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/patkit/patkit"
)

// page answers one page of tokens with GitLab's offset pagination headers
// (https://docs.gitlab.com/api/rest/#offset-based-pagination).
func (c *call) page(pg *patkit.Page, kind entityKind) error {
	c.pageHeaders(pg.Page, pg.PerPage, pg.Total, len(pg.Tokens))
	return c.json(http.StatusOK, entities(pg.Tokens, kind, c.svc.Now()))
}

// pageHeaders sets the offset pagination headers of page number page of
// size perPage holding n items, of total in all (-1: not counted).
func (c *call) pageHeaders(page, perPage, total, n int) {
	pg := &patkit.Page{Total: total, Page: page, PerPage: perPage}
	last := pg.TotalPages()
	hasNext := total < 0 && n == perPage || total >= 0 && page < last
	h := c.w.Header()
	h.Set("X-Page", strconv.Itoa(page))
	h.Set("X-Per-Page", strconv.Itoa(perPage))
	// Kaminari: no next or previous page from a page out of range.
	outOfRange := last >= 0 && page > last || last < 0 && n == 0 && page > 1
	next, prev := "", ""
	if hasNext && !outOfRange {
		next = strconv.Itoa(page + 1)
	}
	if page > 1 && !outOfRange {
		prev = strconv.Itoa(page - 1)
	}
	h.Set("X-Next-Page", next)
	h.Set("X-Prev-Page", prev)
	if last >= 0 {
		h.Set("X-Total", strconv.Itoa(total))
		h.Set("X-Total-Pages", strconv.Itoa(last))
	}
	var links []string
	link := func(p int, rel string) {
		links = append(links, "<"+c.pageURL(p, perPage)+`>; rel="`+rel+`"`)
	}
	if prev != "" {
		link(page-1, "prev")
	}
	if next != "" {
		link(page+1, "next")
	}
	link(1, "first")
	if last >= 0 {
		link(last, "last")
	}
	h.Set("Link", strings.Join(links, ", "))
}

// pageURL is the request URL on baseURL with every original
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

// baseURL returns the scheme and authority of Link URLs: the configured
// Options.ExternalURL or, without one, the address the connection was
// accepted on when the Host header names it, and otherwise "" (relative
// URLs). A Host header is never trusted as such: clients follow Link URLs
// with their credentials.
func (c *call) baseURL() string {
	if c.opts.ExternalURL != "" {
		return c.opts.ExternalURL
	}
	if !hostIsLocalAddr(c.r) {
		return ""
	}
	if c.r.TLS != nil {
		return "https://" + c.r.Host
	}
	return "http://" + c.r.Host
}

// hostIsLocalAddr reports whether r's Host names the address its
// connection was accepted on: the same IP address and port, or localhost
// and the port on a loopback address.
func hostIsLocalAddr(r *http.Request) bool {
	la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	local, err := netip.ParseAddrPort(la.String())
	if err != nil {
		return false
	}
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil {
		host, port = strings.TrimSuffix(strings.TrimPrefix(r.Host, "["), "]"), "80"
		if r.TLS != nil {
			port = "443"
		}
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || uint16(p) != local.Port() {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return local.Addr().Unmap().IsLoopback()
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap() == local.Addr().Unmap()
}

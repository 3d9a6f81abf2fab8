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
	return c.json(http.StatusOK, entityPage{pg.Tokens, kind, c.svc.Now()})
}

// pageHeaders sets the offset pagination headers of page number page of
// size perPage holding n items, of total in all (-1: not counted).
func (c *call) pageHeaders(page, perPage, total, n int) {
	pg := &patkit.Page{Total: total, Page: page, PerPage: perPage}
	last := pg.TotalPages()
	hasNext := total < 0 && n == perPage || total >= 0 && page < last
	// Kaminari: no next or previous page from a page out of range.
	outOfRange := last >= 0 && page > last || last < 0 && n == 0 && page > 1
	next, prev := "", ""
	if hasNext && !outOfRange {
		next = strconv.Itoa(page + 1)
	}
	if page > 1 && !outOfRange {
		prev = strconv.Itoa(page - 1)
	}
	u := c.pageURLs(perPage)
	var links strings.Builder
	link := func(p int, rel string) {
		if links.Len() > 0 {
			links.WriteString(", ")
		}
		links.WriteByte('<')
		u.write(&links, p)
		links.WriteString(`>; rel="`)
		links.WriteString(rel)
		links.WriteByte('"')
	}
	links.Grow(4 * (len(u.pre) + len(u.post) + 24))
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
	// The values share one array; the keys are in canonical form, as
	// Header.Set would make them.
	v := [...]string{strconv.Itoa(page), strconv.Itoa(perPage), next, prev, links.String(), "", ""}
	h := c.w.Header()
	h["X-Page"] = v[0:1:1]
	h["X-Per-Page"] = v[1:2:2]
	h["X-Next-Page"] = v[2:3:3]
	h["X-Prev-Page"] = v[3:4:4]
	h["Link"] = v[4:5:5]
	if last >= 0 {
		v[5], v[6] = strconv.Itoa(total), strconv.Itoa(last)
		h["X-Total"] = v[5:6:6]
		h["X-Total-Pages"] = v[6:7:7]
	}
}

// pageURLs are the URLs of the pages of one size: the request URL on
// baseURL with every original query parameter and the path parameters,
// page and per_page set, encoded as Rails' to_query does (pairs sorted).
// A page's URL is pre, its number, then post.
type pageURLs struct{ pre, post string }

func (u pageURLs) write(b *strings.Builder, page int) {
	b.WriteString(u.pre)
	b.WriteString(strconv.Itoa(page))
	b.WriteString(u.post)
}

func (c *call) pageURLs(perPage int) pageURLs {
	params := url.Values{}
	maps.Copy(params, c.in.query)
	maps.Copy(params, c.in.linkParams)
	delete(params, "page")
	params.Set("per_page", strconv.Itoa(perPage))
	var pairs []string
	for k, vs := range params {
		for _, v := range vs {
			pairs = append(pairs, url.QueryEscape(k)+"="+url.QueryEscape(v))
		}
	}
	slices.Sort(pairs)
	// Where "page=N" sorts among the others: whatever N, as no other pair
	// starts with "page=".
	i, _ := slices.BinarySearch(pairs, "page=")
	pre := c.baseURL() + c.r.URL.EscapedPath() + "?" + strings.Join(pairs[:i], "&")
	if i > 0 {
		pre += "&"
	}
	post := strings.Join(pairs[i:], "&")
	if post != "" {
		post = "&" + post
	}
	return pageURLs{pre: pre + "page=", post: post}
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

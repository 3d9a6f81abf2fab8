package httpapi

import (
	"net/http"
	"net/netip"
	"strings"
)

// ForwardedFor returns an Options.ClientIP for a server behind reverse
// proxies whose addresses are in trusted: the client address is read
// from X-Forwarded-For, but only when the connection comes from a trusted
// proxy, and only as far as trusted proxies wrote it.
//
// A request whose peer (r.RemoteAddr) is not in trusted is answered with
// the peer's address, whatever its headers say: a client reaching the
// server directly cannot choose its address. From a trusted peer, the
// X-Forwarded-For entries (every such header, in order, comma-separated)
// are read from the right, skipping those in trusted (proxies that
// forwarded the request in turn); the first one that is not trusted is
// the client. Entries to its left were written by the client and are
// ignored. If every entry is trusted, the leftmost is the client; if
// there is none, the peer. An entry that is not an IP address gives "",
// which authenticates no network-bound token. IPv4-mapped IPv6 addresses
// are unmapped, zones dropped, and ports ("192.0.2.1:1234",
// "[2001:db8::1]:80") removed.
//
// What it returns is what a token's last_used_ips record, FailedAuthLimit
// counts by, and a network-bound token's allowed_cidrs are checked
// against. trusted must list every proxy in front of the server, and the
// server must not be reachable around them.
func ForwardedFor(trusted []netip.Prefix) func(r *http.Request) string {
	trusted = append([]netip.Prefix(nil), trusted...)
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return func(r *http.Request) string {
		peer, ok := parseIP(remoteIP(r))
		if !ok || !isTrusted(peer) {
			return remoteIP(r)
		}
		var entries []string
		for _, h := range r.Header.Values("X-Forwarded-For") {
			for e := range strings.SplitSeq(h, ",") {
				entries = append(entries, strings.TrimSpace(e))
			}
		}
		if len(entries) == 0 {
			return peer.String()
		}
		for i := len(entries) - 1; i >= 0; i-- {
			a, ok := parseIP(entries[i])
			if !ok {
				return ""
			}
			if !isTrusted(a) || i == 0 {
				return a.String()
			}
		}
		return "" // unreachable
	}
}

// parseIP parses an address as X-Forwarded-For or r.RemoteAddr may hold
// it, with or without a port, unmapped and without a zone.
func parseIP(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().WithZone("").Unmap(), true
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.WithZone("").Unmap(), true
}

package patkit

import (
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// MaxAllowedCIDRs bounds TokenOptions.AllowedCIDRs: more ranges than this
// are refused with ErrInvalid (httpapi: 400).
const MaxAllowedCIDRs = 32

// ParseCIDR parses one network of TokenOptions.AllowedCIDRs: a CIDR
// prefix ("10.0.0.0/8", "2001:db8::/32"), or a bare address, which means
// that address alone (/32 for IPv4, /128 for IPv6). Host bits are
// allowed ("10.1.2.3/8" is 10.0.0.0/8 once normalized). An address with
// a zone ("fe80::1%eth0"), surrounding spaces, or anything else netip
// does not parse is an error. The result is not normalized: see
// NormalizeCIDRs.
func ParseCIDR(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a.Zone() != "" {
		return netip.Prefix{}, errors.New("patkit: an allowed CIDR may not have a zone: " + strconv.Quote(s))
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// NormalizeCIDRs returns the canonical form of a list of allowed networks,
// as tokens keep them, or false if one is not valid (the zero Prefix):
//
//   - each is masked to its prefix (10.1.2.3/8 is 10.0.0.0/8);
//   - an IPv4-mapped IPv6 prefix of at least 96 bits is the IPv4 prefix
//     it maps (::ffff:10.0.0.0/104 is 10.0.0.0/8, ::ffff:0:0/96 is
//     0.0.0.0/0), since client addresses are matched unmapped; a shorter
//     one is an IPv6 prefix like any other, which matches no IPv4 client;
//   - duplicates (after the two steps above) are dropped, and the list is
//     sorted, IPv4 before IPv6, by address then length. Overlapping
//     ranges are kept as given.
//
// An empty list is nil: the token is not bound to networks.
func NormalizeCIDRs(in []netip.Prefix) ([]netip.Prefix, bool) {
	if len(in) == 0 {
		return nil, true
	}
	out := make([]netip.Prefix, 0, len(in))
	for _, p := range in {
		if !p.IsValid() {
			return nil, false
		}
		p = p.Masked()
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p)
	}
	slices.SortFunc(out, comparePrefix)
	return slices.Compact(out), true
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// checkCIDRs validates and normalizes TokenOptions.AllowedCIDRs.
func checkCIDRs(in []netip.Prefix) ([]netip.Prefix, *FieldError) {
	if len(in) > MaxAllowedCIDRs {
		return nil, &FieldError{"allowed_cidrs", "is too long (maximum is " + strconv.Itoa(MaxAllowedCIDRs) + " ranges)"}
	}
	out, ok := NormalizeCIDRs(in)
	if !ok {
		return nil, &FieldError{"allowed_cidrs", "is invalid"}
	}
	return out, nil
}

// addressAllowed reports whether the client address ip (a textual IP
// address, as AuthRequest.RemoteIP; a zone is ignored, an IPv4-mapped
// IPv6 address is the IPv4 address) is inside one of cidrs. An empty or
// unparseable address is inside none.
func addressAllowed(cidrs []netip.Prefix, ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.WithZone("").Unmap()
	for _, p := range cidrs {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

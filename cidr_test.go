package patkit_test

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/patkit/patkit"
)

func prefixes(s ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(s))
	for i, c := range s {
		p, err := patkit.ParseCIDR(c)
		if err != nil {
			panic(err)
		}
		out[i] = p
	}
	return out
}

func TestParseCIDR(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.0/8":       "10.0.0.0/8",
		"10.1.2.3/8":       "10.1.2.3/8", // masked by NormalizeCIDRs
		"192.0.2.7":        "192.0.2.7/32",
		"2001:db8::/32":    "2001:db8::/32",
		"::1":              "::1/128",
		"::ffff:192.0.2.1": "::ffff:192.0.2.1/128",
	} {
		p, err := patkit.ParseCIDR(in)
		if err != nil || p.String() != want {
			t.Errorf("ParseCIDR(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
	for _, in := range []string{"", " 10.0.0.0/8", "10.0.0.0/33", "10.0.0/8", "fe80::1%eth0", "fe80::1%eth0/64", "example.com", "10.0.0.0/", "/8", "::/129"} {
		if p, err := patkit.ParseCIDR(in); err == nil {
			t.Errorf("ParseCIDR(%q) = %v, nil; want an error", in, p)
		}
	}
}

func TestNormalizeCIDRs(t *testing.T) {
	got, ok := patkit.NormalizeCIDRs(prefixes(
		"2001:db8::1/32", "10.1.2.3/8", "10.0.0.0/8", "::ffff:192.0.2.0/120", "192.0.2.0/24",
		"::ffff:0:0/96", "::ffff:1.2.3.4/64", "192.0.2.9", "10.0.0.0/16"))
	want := prefixes("0.0.0.0/0", "10.0.0.0/8", "10.0.0.0/16", "192.0.2.0/24", "192.0.2.9/32", "::/64", "2001:db8::/32")
	if !ok || !slices.Equal(got, want) {
		t.Errorf("NormalizeCIDRs = %v, %v; want %v", got, ok, want)
	}
	if got, ok := patkit.NormalizeCIDRs(nil); !ok || got != nil {
		t.Errorf("NormalizeCIDRs(nil) = %v, %v; want nil, true", got, ok)
	}
	if _, ok := patkit.NormalizeCIDRs([]netip.Prefix{{}}); ok {
		t.Error("NormalizeCIDRs accepted the zero Prefix")
	}
}

func TestAllowedCIDRs(t *testing.T) {
	w := newWorld(t, nil)
	ctx := t.Context()
	tok, secret, err := w.svc.CreateToken(ctx, w.root, 2, patkit.TokenOptions{
		Name: "bound", Scopes: []patkit.Scope{patkit.ScopeAPI},
		AllowedCIDRs: prefixes("192.0.2.0/24", "2001:db8::/32", "192.0.2.0/24", "::ffff:198.51.100.0/120"),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := prefixes("192.0.2.0/24", "198.51.100.0/24", "2001:db8::/32")
	if !slices.Equal(tok.AllowedCIDRs, want) || !slices.Equal(w.get(t, tok.ID).AllowedCIDRs, want) {
		t.Fatalf("AllowedCIDRs = %v, stored %v; want %v", tok.AllowedCIDRs, w.get(t, tok.ID).AllowedCIDRs, want)
	}
	for ip, ok := range map[string]bool{
		"192.0.2.1":          true,
		"198.51.100.255":     true,
		"::ffff:192.0.2.200": true, // mapped: the IPv4 address
		"2001:db8::1":        true,
		"2001:db8::1%eth0":   true, // the zone is ignored
		"192.0.3.1":          false,
		"2001:db9::1":        false,
		"::ffff:203.0.113.1": false,
		"":                   false,
		"not an address":     false,
		"192.0.2.1:1234":     false,
	} {
		_, err := w.svc.Authenticate(ctx, secret, patkit.AuthRequest{RemoteIP: ip})
		if ok {
			wantErr(t, err, nil, "")
		} else {
			wantErr(t, err, patkit.ErrAddressNotAllowed, "")
		}
	}
	// A refused address records no use.
	if got := w.get(t, tok.ID).LastUsedIPs; slices.Contains(got, "192.0.3.1") {
		t.Errorf("last used IPs %v hold a refused address", got)
	}
	// An unrestricted token authenticates from anywhere, or nowhere.
	_, free := w.pat(t, 2)
	for _, ip := range []string{"", "192.0.3.1", "junk"} {
		if _, err := w.svc.Authenticate(ctx, free, patkit.AuthRequest{RemoteIP: ip}); err != nil {
			t.Errorf("unrestricted token from %q: %v", ip, err)
		}
	}
	// Revocation and expiry are told before the address.
	if err := w.svc.RevokeToken(ctx, w.root, tok.ID); err != nil {
		t.Fatal(err)
	}
	_, err = w.svc.Authenticate(ctx, secret, patkit.AuthRequest{RemoteIP: "192.0.3.1"})
	wantErr(t, err, patkit.ErrTokenRevoked, "")
}

func TestAllowedCIDRsKeptByRotation(t *testing.T) {
	w := newWorld(t, nil)
	ctx := t.Context()
	tok, secret, err := w.svc.CreateToken(ctx, w.root, 2, patkit.TokenOptions{
		Name: "bound", Scopes: []patkit.Scope{patkit.ScopeAPI}, AllowedCIDRs: prefixes("192.0.2.0/24"),
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := w.svc.Authenticate(ctx, secret, patkit.AuthRequest{RemoteIP: "192.0.2.1", Rotate: true})
	if err != nil {
		t.Fatal(err)
	}
	next, nextSecret, err := w.svc.RotateSelf(ctx, p, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(next.AllowedCIDRs, tok.AllowedCIDRs) || !slices.Equal(w.get(t, next.ID).AllowedCIDRs, tok.AllowedCIDRs) {
		t.Errorf("rotated token's AllowedCIDRs %v, want %v", next.AllowedCIDRs, tok.AllowedCIDRs)
	}
	_, err = w.svc.Authenticate(ctx, nextSecret, patkit.AuthRequest{RemoteIP: "203.0.113.1"})
	wantErr(t, err, patkit.ErrAddressNotAllowed, "")
}

func TestAllowedCIDRsValidation(t *testing.T) {
	w := newWorld(t, nil)
	ctx := t.Context()
	many := make([]netip.Prefix, patkit.MaxAllowedCIDRs+1)
	for i := range many {
		many[i] = netip.MustParsePrefix(fmt.Sprintf("10.0.%d.0/24", i))
	}
	for name, tc := range map[string]struct {
		cidrs []netip.Prefix
		msg   string
	}{
		"too many": {many, fmt.Sprintf("Allowed cidrs is too long (maximum is %d ranges)", patkit.MaxAllowedCIDRs)},
		"invalid":  {[]netip.Prefix{{}}, "Allowed cidrs is invalid"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := w.svc.CreateToken(ctx, w.root, 2, patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{patkit.ScopeAPI}, AllowedCIDRs: tc.cidrs})
			wantErr(t, err, patkit.ErrInvalid, tc.msg)
		})
	}
	// Exactly the maximum is accepted; an empty list is no restriction.
	if _, _, err := w.svc.CreateToken(ctx, w.root, 2, patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{patkit.ScopeAPI}, AllowedCIDRs: many[1:]}); err != nil {
		t.Errorf("%d CIDRs: %v", patkit.MaxAllowedCIDRs, err)
	}
	tok, _, err := w.svc.CreateToken(ctx, w.root, 2, patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{patkit.ScopeAPI}, AllowedCIDRs: []netip.Prefix{}})
	if err != nil || tok.AllowedCIDRs != nil {
		t.Errorf("empty list: %v, %v; want no restriction", tok, err)
	}
}

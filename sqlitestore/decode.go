package sqlitestore

import (
	"encoding/json"
	"net/netip"

	"github.com/patkit/patkit"
)

// decodeCIDRs decodes the JSON array of allowed networks the Store writes
// (encodeCIDRs). Each must parse as a netip.Prefix.
func decodeCIDRs(s string) ([]netip.Prefix, error) {
	strs, ok := decodeStrings(s)
	if !ok {
		if err := json.Unmarshal([]byte(s), &strs); err != nil {
			return nil, err
		}
	}
	if len(strs) == 0 {
		return nil, nil
	}
	out := make([]netip.Prefix, len(strs))
	for i, c := range strs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

// encodeCIDRs encodes allowed networks as a JSON array of their canonical
// strings, '[]' for none.
func encodeCIDRs(cidrs []netip.Prefix) string {
	strs := make([]string, len(cidrs))
	for i, p := range cidrs {
		strs[i] = p.String()
	}
	b, _ := json.Marshal(strs) // strings always encode
	return string(b)
}

// decodeStrings decodes a JSON array of strings in the form the Store
// writes them (encoding/json's, for strings that need no escaping):
// '[', then '"'-quoted strings of printable ASCII other than '"' and '\',
// separated by ',', then ']', with no space. ok is false for anything
// else, which the caller then decodes with encoding/json: this is a fast
// path for the common form, never a second definition of JSON. The
// strings share s's memory.
func decodeStrings(s string) (v []string, ok bool) {
	n, ok := countStrings(s)
	if !ok {
		return nil, false
	}
	if n == 0 {
		return nil, true
	}
	v = make([]string, 0, n)
	for i := 1; s[i] == '"'; {
		j := i + 1
		for s[j] != '"' {
			j++
		}
		v = append(v, s[i+1:j])
		i = j + 2 // past '"' and ',' or ']'
		if i >= len(s) {
			break
		}
	}
	return v, true
}

// decodeScopes is decodeStrings for a list of scopes.
func decodeScopes(s string) (v []patkit.Scope, ok bool) {
	n, ok := countStrings(s)
	if !ok {
		return nil, false
	}
	if n == 0 {
		return nil, true
	}
	v = make([]patkit.Scope, 0, n)
	for i := 1; s[i] == '"'; {
		j := i + 1
		for s[j] != '"' {
			j++
		}
		v = append(v, patkit.Scope(s[i+1:j]))
		i = j + 2
		if i >= len(s) {
			break
		}
	}
	return v, true
}

// countStrings checks that s has decodeStrings' form and returns how many
// strings it holds.
func countStrings(s string) (n int, ok bool) {
	if s == "[]" {
		return 0, true
	}
	if len(s) < 4 || s[0] != '[' || s[len(s)-1] != ']' {
		return 0, false
	}
	i := 1
	for {
		if s[i] != '"' {
			return 0, false
		}
		i++
		for ; i < len(s) && s[i] != '"'; i++ {
			if c := s[i]; c < 0x20 || c > 0x7e || c == '\\' {
				return 0, false
			}
		}
		if i+1 >= len(s) {
			return 0, false
		}
		n++
		switch s[i+1] {
		case ']':
			return n, i+2 == len(s)
		case ',':
			i += 2
			if i >= len(s) {
				return 0, false
			}
		default:
			return 0, false
		}
	}
}

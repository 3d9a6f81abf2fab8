package sqlitestore

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/patkit/patkit"
)

var decodeSeeds = []string{
	`[]`, `["api"]`, `["api","read_api"]`, `[""]`, `["",""]`, `["127.0.0.1","::1","10.0.0.1"]`,
	`[ ]`, `[ "api"]`, `["api" ]`, `["api",]`, `[,"api"]`, `["a\"b"]`, `["a\\b"]`, `["\u0061"]`,
	`["é"]`, "[\"a\tb\"]", `["a<b>&"]`, `null`, ``, `[`, `]`, `["api"`, `"api"]`, `[""""]`,
	`["a","b"]x`, `["a""b"]`, `[1]`, `["a",1]`, `[[]]`, `{}`, `["api"]]`, `[["api"]`,
}

// TestDecodeStrings checks the fast path against encoding/json: wherever
// it accepts an input, it decodes it exactly as encoding/json does.
func TestDecodeStrings(t *testing.T) {
	for _, s := range decodeSeeds {
		checkDecode(t, s)
	}
	for _, s := range []string{`[]`, `["api"]`, `["api","read_api"]`, `["127.0.0.1","::1"]`} {
		if _, ok := decodeStrings(s); !ok {
			t.Errorf("decodeStrings(%q) fell back to encoding/json", s)
		}
	}
	for _, v := range [][]string{{}, {"api"}, {"a<b"}, {"é"}, {"a\"b", ""}} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		checkDecode(t, string(b))
	}
}

func FuzzDecodeStrings(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add(s)
	}
	f.Fuzz(checkDecode)
}

func checkDecode(t *testing.T, s string) {
	got, ok := decodeStrings(s)
	scopes, sok := decodeScopes(s)
	if ok != sok {
		t.Fatalf("%q: decodeStrings ok=%v, decodeScopes ok=%v", s, ok, sok)
	}
	if !ok {
		return
	}
	var want []string
	if err := json.Unmarshal([]byte(s), &want); err != nil {
		t.Fatalf("%q: decodeStrings accepted what encoding/json refuses: %v", s, err)
	}
	if !slices.Equal(got, want) || len(got) != len(want) {
		t.Fatalf("%q: decodeStrings = %q, encoding/json %q", s, got, want)
	}
	var wantScopes []patkit.Scope
	if err := json.Unmarshal([]byte(s), &wantScopes); err != nil || !slices.Equal(scopes, wantScopes) {
		t.Fatalf("%q: decodeScopes = %q, encoding/json %q, %v", s, scopes, wantScopes, err)
	}
}

// TestDecodeAllocs guards the point of the fast path: one allocation for a
// list, none for an empty one, where encoding/json makes a dozen.
func TestDecodeAllocs(t *testing.T) {
	const s = `["api","read_api"]`
	if n := testing.AllocsPerRun(100, func() { decodeScopes(s) }); n != 1 {
		t.Errorf("decodeScopes: %v allocations, want 1", n)
	}
	if n := testing.AllocsPerRun(100, func() { decodeStrings(`[]`) }); n != 0 {
		t.Errorf("decodeStrings([]): %v allocations, want 0", n)
	}
}

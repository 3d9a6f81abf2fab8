package patkit_test

import (
	"strings"
	"testing"

	"github.com/patkit/patkit"
)

// TestBadText checks that text no store can keep as it is (NUL, invalid
// UTF-8) and searches past the limits are refused before any store sees
// them.
func TestBadText(t *testing.T) {
	w := newWorld(t, nil)
	ctx := t.Context()
	create := func(name, desc string) error {
		_, _, err := w.svc.CreateToken(ctx, w.root, 2, patkit.TokenOptions{Name: name, Description: desc, Scopes: []patkit.Scope{patkit.ScopeAPI}})
		return err
	}
	w.store.writes.Store(0)
	wantErr(t, create("a\x00b", ""), patkit.ErrInvalid, "Name is invalid")
	wantErr(t, create("a\xffb", ""), patkit.ErrInvalid, "Name is invalid")
	wantErr(t, create("ok", "bad \x00"), patkit.ErrInvalid, "Description is invalid")
	if n := w.store.writes.Load(); n != 0 {
		t.Errorf("%d writes for refused tokens", n)
	}

	many := make([]string, patkit.MaxSearchTerms+1)
	for i := range many {
		many[i] = "w" + strings.Repeat(string(rune('a'+i%26)), 2+i/26)
	}
	for _, tt := range []struct{ search, msg string }{
		{"\x00", "Search is invalid"},
		{"%ff\xff", "Search is invalid"},
		{strings.Repeat("x", patkit.MaxSearchLen+1), "Search is too long (maximum is 4096 characters)"},
		{strings.Join(many, " "), "Search is too long (maximum is 64 terms)"},
	} {
		_, err := w.svc.ListTokens(ctx, w.root, patkit.Filter{Search: tt.search})
		wantErr(t, err, patkit.ErrInvalid, tt.msg)
	}
	// Repeated words count once, and the limits themselves pass.
	ok := []string{strings.Repeat("alpha ", 600), strings.Repeat("y", patkit.MaxSearchLen), strings.Join(many[:patkit.MaxSearchTerms], " ")}
	for _, s := range ok {
		if _, err := w.svc.ListTokens(ctx, w.root, patkit.Filter{Search: s}); err != nil {
			t.Errorf("search of %d bytes: %v", len(s), err)
		}
	}
	if got := patkit.ParseSearch("Alpha alpha ALPHA beta"); len(got.Words) != 2 {
		t.Errorf("ParseSearch kept repeated words: %q", got.Words)
	}
}

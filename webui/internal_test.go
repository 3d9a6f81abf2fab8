package webui

import (
	"strconv"
	"testing"
)

// TestParsePages parses every page's template, as the first page
// rendered does.
func TestParsePages(t *testing.T) {
	p := parsePages()
	for _, name := range []string{"tokens", "confirm", "admin", "error"} {
		if p[name] == nil || p[name].Lookup("layout.html") == nil {
			t.Errorf("page %q: not parsed with the layout", name)
		}
	}
}

// TestSentForms checks that a form ID is claimed once, that release frees
// it, that the oldest of more than maxSentForms is forgotten, and that
// the ring is made by the first claim, not before.
func TestSentForms(t *testing.T) {
	var s sentForms
	if s.ring != nil {
		t.Fatal("the zero sentForms holds a ring")
	}
	if !s.claim("a") || s.claim("a") {
		t.Fatal(`claim("a") twice: want true then false`)
	}
	if len(s.ring) != maxSentForms {
		t.Fatalf("ring of %d after the first claim, want %d", len(s.ring), maxSentForms)
	}
	s.release("a")
	if !s.claim("a") {
		t.Fatal(`claim("a") after release: want true`)
	}
	for i := range maxSentForms - 1 {
		if !s.claim(strconv.Itoa(i)) {
			t.Fatalf("claim(%d): want true", i)
		}
	}
	if s.claim("a") {
		t.Fatal(`"a" forgotten before maxSentForms newer IDs`)
	}
	if !s.claim("new") || !s.claim("a") {
		t.Fatal(`"a" still held after maxSentForms newer IDs`)
	}
	if !s.claim("") || !s.claim("") {
		t.Fatal("the empty ID is not always free")
	}
}

package patkit_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/patkit/patkit"
)

func TestScopeCatalogue(t *testing.T) {
	all := patkit.AllScopes()
	if len(all) != 19 {
		t.Errorf("AllScopes has %d scopes, want 19", len(all))
	}
	if slices.Contains(all, "openid") || slices.Contains(all, "") {
		t.Error("OAuth-only or empty scope is valid")
	}
	res := patkit.ResourceScopes()
	if slices.Contains(res, patkit.ScopeReadUser) {
		t.Error("resource tokens may hold read_user")
	}
	for _, s := range []patkit.Scope{patkit.ScopeSudo, patkit.ScopeAdminMode, patkit.ScopeReadServicePing} {
		if !patkit.AdminScope(s) || slices.Contains(res, s) {
			t.Errorf("%s: admin scope handling wrong", s)
		}
	}
	if len(res) != len(all)-4 {
		t.Errorf("ResourceScopes has %d scopes, want %d", len(res), len(all)-4)
	}
	if diff := cmp.Diff([]patkit.Scope{"k8s_proxy", "self_rotate"}, patkit.SelfServiceScopes()); diff != "" {
		t.Errorf("SelfServiceScopes (-want +got):\n%s", diff)
	}
}

func TestCheckScopes(t *testing.T) {
	get := patkit.AllowedScopes(true)
	post := patkit.AllowedScopes(false)
	users := patkit.AllowedScopes(true, patkit.ScopeReadUser)
	selfRotate := patkit.AllowedScopes(false, patkit.ScopeSelfRotate)
	tests := []struct {
		name    string
		held    []patkit.Scope
		allowed []patkit.Scope
		ok      bool
	}{
		{"api passes GET", []patkit.Scope{"api"}, get, true},
		{"api passes POST", []patkit.Scope{"api"}, post, true},
		{"read_api passes GET", []patkit.Scope{"read_api"}, get, true},
		{"read_api fails POST", []patkit.Scope{"read_api"}, post, false},
		{"read_user passes GET /users", []patkit.Scope{"read_user"}, users, true},
		{"read_user fails GET elsewhere", []patkit.Scope{"read_user"}, get, false},
		{"self_rotate passes self rotate", []patkit.Scope{"self_rotate"}, selfRotate, true},
		{"self_rotate fails GET", []patkit.Scope{"self_rotate"}, get, false},
		{"any of several", []patkit.Scope{"k8s_proxy", "read_api"}, get, true},
		{"write_repository implies nothing", []patkit.Scope{"write_repository"}, get, false},
		{"no scopes", nil, get, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := patkit.CheckScopes(tt.held, tt.allowed)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckScopes = %v, want ok=%v", err, tt.ok)
			}
			if err != nil {
				var e *patkit.Error
				if !errors.As(err, &e) || !errors.Is(err, patkit.ErrInsufficientScope) {
					t.Fatalf("error %v is not an insufficient-scope *Error", err)
				}
				if diff := cmp.Diff(tt.allowed, e.Scopes); diff != "" {
					t.Errorf("Scopes (-want +got):\n%s", diff)
				}
			}
		})
	}
	if diff := cmp.Diff([]patkit.Scope{"self_rotate", "api"}, selfRotate); diff != "" {
		t.Errorf("AllowedScopes order (-want +got):\n%s", diff)
	}
}

func TestParseSearch(t *testing.T) {
	tests := []struct {
		q     string
		want  patkit.SearchTerms
		match []string
		miss  []string
	}{
		{"", patkit.SearchTerms{}, []string{"anything"}, nil},
		{"  deploy   key ", patkit.SearchTerms{Words: []string{"deploy", "key"}}, []string{"Deploy Key", "key for deploy"}, []string{"deploy"}},
		{`"ci token" prod`, patkit.SearchTerms{Words: []string{"ci token", "prod"}}, []string{"PROD ci token"}, []string{"ci prod token"}},
		{"ab", patkit.SearchTerms{Exact: "ab"}, []string{"AB"}, []string{"abc"}},
		{"ab cd", patkit.SearchTerms{Exact: "ab cd"}, []string{"Ab Cd"}, []string{"ab cde"}},
		{"ab cde", patkit.SearchTerms{Words: []string{"cde"}}, []string{"xcdex"}, []string{"ab"}},
		{"100%", patkit.SearchTerms{Words: []string{"100%"}}, []string{"at 100%"}, []string{"1000"}},
	}
	for _, tt := range tests {
		got := patkit.ParseSearch(tt.q)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseSearch(%q) (-want +got):\n%s", tt.q, diff)
		}
		for _, n := range tt.match {
			if !got.Match(n) {
				t.Errorf("%q does not match %q", tt.q, n)
			}
		}
		for _, n := range tt.miss {
			if got.Match(n) {
				t.Errorf("%q matches %q", tt.q, n)
			}
		}
	}
}

package httpapi

import "testing"

func TestRotatePath(t *testing.T) {
	for path, want := range map[string]bool{
		"/api/v4/personal_access_tokens/12/rotate":         true,
		"/api/v4/personal_access_tokens/self/rotate":       true,
		"/api/v4/projects/1/access_tokens/7/rotate":        true,
		"/api/v4/groups/a%2Fb/access_tokens/self/rotate":   true,
		"/host/access_tokens/3/rotate":                     true,
		"/api/v4/personal_access_tokens/12":                false,
		"/api/v4/personal_access_tokens/x1/rotate":         false,
		"/api/v4/personal_access_tokens//rotate":           false,
		"/api/v4/personal_access_tokens/12/rotate/":        false,
		"/api/v4/personal_access_tokens/self/rotate/extra": false,
		"/rotate":                false,
		"access_tokens/1/rotate": true,
		"/api/v4/users/1/impersonation_tokens/1/rotate": false,
	} {
		if got := rotatePath(path); got != want {
			t.Errorf("rotatePath(%q) = %v, want %v", path, got, want)
		}
	}
}

package compat

import (
	"net/http"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go"
)

// TestAdminToken drives GitLab's token information API (POST and DELETE
// /admin/token) through client-go's own request machinery: the client
// version here has no typed methods for it, so this is what a client-go
// user writes today.
func TestAdminToken(t *testing.T) {
	e := setup(t)
	alice, aliceClient := e.pat(2, "leaked", "api")
	type body struct {
		Token string `url:"token" json:"token"` // client-go sends a DELETE's options in the query
	}
	call := func(method, secret string, v any) (*gitlab.Response, error) {
		req, err := e.root.NewRequest(method, "admin/token", &body{secret}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return e.root.Do(req, v)
	}

	var found gitlab.PersonalAccessToken
	resp, err := call(http.MethodPost, alice.Token, &found)
	ok(t, "identify", resp, err, http.StatusOK)
	if found.ID != alice.ID || found.UserID != 2 || found.Name != "leaked" || found.Revoked || found.Token != "" {
		t.Errorf("identify: %+v, want alice's token %d without its secret", found, alice.ID)
	}

	resp, err = call(http.MethodDelete, alice.Token, nil)
	ok(t, "revoke", resp, err, http.StatusNoContent)
	_, _, err = aliceClient.PersonalAccessTokens.GetSinglePersonalAccessToken()
	apiError(t, "the revoked secret", err, http.StatusUnauthorized, "")

	_, err = call(http.MethodPost, "glrt-not-a-pat", nil)
	apiError(t, "another token type", err, http.StatusUnprocessableEntity, `{"message":"Token type not supported."}`)
	other, _ := setup(t).pat(2, "elsewhere", "api") // well-formed, unknown here
	_, err = call(http.MethodPost, other.Token, nil)
	if err == nil {
		t.Fatal("unknown token: no error")
	}
	if got := e.lastResponse(); got.status != http.StatusNotFound {
		t.Errorf("unknown token: status %d, want 404", got.status)
	} else {
		jsonEqual(t, "unknown token", got.body, `{"message":{"error":"Not found"}}`)
	}
}

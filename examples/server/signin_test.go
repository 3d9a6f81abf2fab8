package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestDemoSignIn(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string, cookie *http.Cookie) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, s.url+path, nil)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	// Not signed in: the page sends the visitor to the demo sign-in.
	resp := get("/acme/widgets/-/settings/access_tokens", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/-/demo/sign_in?return_to=%2Facme%2Fwidgets%2F-%2Fsettings%2Faccess_tokens" {
		t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := get("/-/demo/sign_in", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-in page: %d", resp.StatusCode)
	}
	signIn := func(user, back string) *http.Response {
		resp, err := client.PostForm(s.url+"/-/demo/sign_in", url.Values{"user": {user}, "return_to": {back}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp = signIn("alice", "/acme/widgets/-/settings/access_tokens")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/acme/widgets/-/settings/access_tokens" || len(resp.Cookies()) != 1 {
		t.Fatalf("sign-in: %d %v", resp.StatusCode, resp.Header)
	}
	alice := resp.Cookies()[0]
	if resp := get("/acme/widgets/-/settings/access_tokens", alice); resp.StatusCode != http.StatusOK {
		t.Errorf("alice's project page: %d", resp.StatusCode)
	}
	if resp := get("/admin/credentials", alice); resp.StatusCode != http.StatusNotFound {
		t.Errorf("alice's inventory: %d", resp.StatusCode)
	}
	bob := signIn("bob", "").Cookies()[0]
	if resp := get("/acme/widgets/-/settings/access_tokens", bob); resp.StatusCode != http.StatusNotFound {
		t.Errorf("bob's project page: %d", resp.StatusCode)
	}
	// No open redirect, no unknown user.
	for _, back := range []string{"//evil.example/", "https://evil.example/", `/\evil.example`} {
		if loc := signIn("root", back).Header.Get("Location"); loc != "/-/user_settings/personal_access_tokens" {
			t.Errorf("return_to %q leads to %q", back, loc)
		}
	}
	if resp := signIn("mallory", ""); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown demo user: %d", resp.StatusCode)
	}
	// Cross-origin sign-in posts are refused.
	req, _ := http.NewRequest(http.MethodPost, s.url+"/-/demo/sign_in", strings.NewReader("user=root"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, err := client.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site sign-in: %v %v", resp, err)
	}
}

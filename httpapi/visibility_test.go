package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/patkit/patkit"
)

// TestInvisibleResources checks that a user who may not see a private
// project or group learns nothing about it: every endpoint answers GitLab's
// 404 for a resource that does not exist, whether the resource or the token
// exists or not.
func TestInvisibleResources(t *testing.T) {
	e := newEnv(t)
	e.dir.AddResource(patkit.Resource{Type: patkit.ResourceProject, ID: 7, FullPath: "acme/secret"})
	e.dir.AddResource(patkit.Resource{Type: patkit.ResourceGroup, ID: 7, FullPath: "hidden"})
	e.dir.SetAccess(patkit.ResourceProject, 7, aliceID, patkit.Maintainer)
	e.dir.SetAccess(patkit.ResourceGroup, 7, aliceID, patkit.Owner)
	bob, _ := e.token(bobID, "bob", patkit.ScopeAPI)
	alice, _ := e.token(aliceID, "alice", patkit.ScopeAPI)

	// alice, a member, makes a token in each; bob, who is not, probes.
	var ids = map[string]string{}
	for _, base := range []string{"/api/v4/projects/7", "/api/v4/groups/7"} {
		r := e.do(req{method: "POST", path: base + "/access_tokens", token: alice,
			json: map[string]any{"name": "deploy", "scopes": []string{"api"}, "access_level": 30}})
		if r.code != http.StatusCreated {
			t.Fatalf("alice creates: %d %s", r.code, r.body)
		}
		ids[base] = jsonID(t, r.body)
	}
	for _, c := range []struct {
		base, ref, missing string
	}{
		{"/api/v4/projects/", "7", "404 Project Not Found"},
		{"/api/v4/projects/", "acme%2Fsecret", "404 Project Not Found"},
		{"/api/v4/projects/", "99", "404 Project Not Found"},
		{"/api/v4/groups/", "7", "404 Group Not Found"},
		{"/api/v4/groups/", "hidden", "404 Group Not Found"},
	} {
		id := ids["/api/v4/projects/7"]
		if c.base == "/api/v4/groups/" {
			id = ids["/api/v4/groups/7"]
		}
		base := c.base + c.ref + "/access_tokens"
		for _, rq := range []req{
			{method: "GET", path: base},
			{method: "GET", path: base + "/" + id},
			{method: "GET", path: base + "/424242"},
			{method: "DELETE", path: base + "/" + id},
			{method: "DELETE", path: base + "/424242"},
			{method: "POST", path: base + "/" + id + "/rotate"},
			{method: "POST", path: base, json: map[string]any{"name": "x", "scopes": []string{"api"}}},
		} {
			rq.token = bob
			r := e.do(rq)
			r.check(t, 404, `{"message":"`+c.missing+`"}`)
		}
	}
	// Nothing bob tried changed anything: alice's tokens still work.
	r := e.do(req{method: "GET", path: "/api/v4/projects/7/access_tokens", token: alice})
	if r.code != 200 {
		t.Fatalf("alice lists: %d %s", r.code, r.body)
	}
}

// jsonID returns the "id" of a JSON object, as a path segment.
func jsonID(t *testing.T, body string) string {
	t.Helper()
	var v struct{ ID int64 }
	if err := json.Unmarshal([]byte(body), &v); err != nil || v.ID == 0 {
		t.Fatalf("no id in %s", body)
	}
	return strconv.FormatInt(v.ID, 10)
}

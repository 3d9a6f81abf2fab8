package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/httpapi"
)

// TestOpenAPIRoutes holds the document's operations to the routing table,
// both ways: a route missing from the document, or an operation no route
// serves, fails.
func TestOpenAPIRoutes(t *testing.T) {
	s := spec(t)
	var served []string
	for _, rt := range httpapi.Routes() {
		served = append(served, rt.Method+" "+rt.Path)
	}
	var documented []string
	for _, op := range s.operations() {
		documented = append(documented, op[0]+" /api/v4"+op[1])
	}
	slices.Sort(served)
	slices.Sort(documented)
	if diff := cmp.Diff(served, documented); diff != "" {
		t.Errorf("routes (-served +documented):\n%s", diff)
	}
}

// TestOpenAPIDocument validates the document against the OpenAPI 3.1
// meta-schema (testdata, from the OpenAPI Initiative) and compiles every
// schema in it, which checks each against JSON Schema 2020-12.
func TestOpenAPIDocument(t *testing.T) {
	// Formats are annotations here, as the meta-schema intends (its $ref
	// is format uri, yet OpenAPI's references are relative).
	c := jsonschema.NewCompiler()
	meta, err := c.Compile("testdata/openapi-3.1-schema.json")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := meta.Validate(doc); err != nil {
		t.Fatalf("openapi.json is not an OpenAPI 3.1 document:\n%v", err)
	}

	// Every schema compiles: those of components, and those of each
	// operation's parameters, request bodies and responses.
	s := spec(t)
	var walk func(ptr string, v any)
	n := 0
	walk = func(ptr string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if sch, ok := x["schema"]; ok {
				if _, isObj := sch.(map[string]any); isObj {
					if _, err := s.schema(ptr + "/schema"); err != nil {
						t.Errorf("%s/schema: %v", ptr, err)
					}
					n++
				}
			}
			for k, e := range x {
				if k == "schema" || ptr == pointer("components", "schemas") {
					continue
				}
				walk(ptr+pointer(k), e)
			}
		case []any:
			for i, e := range x {
				walk(ptr+"/"+strconv.Itoa(i), e)
			}
		}
	}
	walk("", s.doc)
	comps, _ := s.lookup(pointer("components", "schemas"))
	for name := range comps.(map[string]any) {
		if _, err := s.schema(pointer("components", "schemas", name)); err != nil {
			t.Errorf("schema %s: %v", name, err)
		}
		n++
	}
	t.Logf("%d schemas compiled", n)
}

// TestOpenAPISecurity holds each operation's security and the scopes its
// description states ("Scope: api.", "Scopes: api, read_api.", "Any
// scope.") to the routing table: public routes need no credential,
// anonymous ones accept none, the others require one; and the scopes are
// exactly those that pass the route.
func TestOpenAPISecurity(t *testing.T) {
	s := spec(t)
	stated := regexp.MustCompile(`(?:^| )(?:Scopes?: ([a-z_, ]+)\.|(Any scope)\.)`)
	var all []string
	for _, sc := range patkit.AllScopes() {
		all = append(all, string(sc))
	}
	slices.Sort(all)
	for _, rt := range httpapi.Routes() {
		opPtr := pointer("paths", strings.TrimPrefix(rt.Path, "/api/v4"), strings.ToLower(rt.Method))
		op, _, err := s.object(opPtr)
		if err != nil {
			t.Error(err)
			continue
		}
		name := rt.Method + " " + rt.Path
		sec, ok := op["security"].([]any)
		if !ok {
			sec = s.doc["security"].([]any)
		}
		optional := slices.ContainsFunc(sec, func(r any) bool { m, _ := r.(map[string]any); return len(m) == 0 })
		switch {
		case rt.Public && len(sec) != 0:
			t.Errorf("%s reads no credential; its security is %v", name, sec)
		case !rt.Public && len(sec) == 0:
			t.Errorf("%s takes a credential; its security is empty", name)
		case !rt.Public && optional != rt.Anonymous:
			t.Errorf("%s: anonymous %v, security %v", name, rt.Anonymous, sec)
		}
		if rt.Public {
			continue
		}
		desc, _ := op["description"].(string)
		m := stated.FindStringSubmatch(desc)
		if m == nil {
			t.Errorf("%s: the description states no scopes: %q", name, desc)
			continue
		}
		var got []string
		if m[2] != "" {
			got = slices.Clone(all)
		} else {
			for sc := range strings.SplitSeq(m[1], ",") {
				got = append(got, strings.TrimSpace(sc))
			}
			slices.Sort(got)
		}
		if diff := cmp.Diff(rt.Scopes, got); diff != "" {
			t.Errorf("%s: scopes (-route +description):\n%s", name, diff)
		}
	}
}

// TestOpenAPIScopes holds the document's Scope enumeration to the scopes
// patkit knows.
func TestOpenAPIScopes(t *testing.T) {
	v, err := spec(t).lookup(pointer("components", "schemas", "Scope", "enum"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range v.([]any) {
		got = append(got, s.(string))
	}
	var want []string
	for _, s := range patkit.AllScopes() {
		want = append(want, string(s))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Scope enum (-patkit +document):\n%s", diff)
	}
}

// TestOpenAPIVersion holds info.version to the GitLab release whose API
// patkit follows, which GET /version reports.
func TestOpenAPIVersion(t *testing.T) {
	v, err := spec(t).lookup(pointer("info", "version"))
	if err != nil {
		t.Fatal(err)
	}
	if v != patkit.GitLabVersion {
		t.Errorf("info.version %v, patkit.GitLabVersion %s", v, patkit.GitLabVersion)
	}
}

// TestOpenAPIServed checks that GET /api/v4/openapi.json answers the
// document to anyone, without reading a credential, with an ETag that
// If-None-Match revalidates.
func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t)
	want, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		token  string
		header http.Header
	}{
		{name: "anonymous"},
		{name: "unknown token", token: "glpat-" + strings.Repeat("x", 34)},
		{name: "bearer junk", header: http.Header{"Authorization": {"Bearer nope"}}},
	} {
		r := e.do(req{method: "GET", path: "/api/v4/openapi.json", token: tt.token, header: tt.header})
		if r.code != 200 {
			t.Fatalf("%s: %d %s", tt.name, r.code, r.body)
		}
		// The document, its server URL on Options.ExternalURL.
		var got, file map[string]any
		if err := json.Unmarshal([]byte(r.body), &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(want, &file); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]any{map[string]any{"url": "https://gitlab.example.com/api/v4"}}, got["servers"]); diff != "" {
			t.Errorf("%s: servers (-want +got):\n%s", tt.name, diff)
		}
		delete(got, "servers")
		delete(file, "servers")
		if diff := cmp.Diff(file, got); diff != "" {
			t.Errorf("%s: document (-openapi.json +served):\n%s", tt.name, diff)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q", tt.name, ct)
		}
		if r.header.Get("ETag") == "" || r.header.Get("Cache-Control") != "no-cache" {
			t.Errorf("%s: caching headers %v", tt.name, r.header)
		}
	}
	// Without ExternalURL, the file itself: its server URL is relative.
	plain := newEnv(t, func(_ *patkit.Options, ho *httpapi.Options) { ho.ExternalURL = "" })
	r := plain.do(req{method: "GET", path: "/api/v4/openapi.json"})
	if r.code != 200 || r.body != string(want) {
		t.Errorf("without ExternalURL: %d, the file itself: %v", r.code, r.body == string(want))
	}
	if r.header.Get("ETag") == e.do(req{method: "GET", path: "/api/v4/openapi.json"}).header.Get("ETag") {
		t.Errorf("two documents, one ETag")
	}
	etag := e.do(req{method: "GET", path: "/api/v4/openapi.json"}).header.Get("ETag")
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		r := e.do(req{method: "GET", path: "/api/v4/openapi.json", header: http.Header{"If-None-Match": {inm}}})
		if r.code != http.StatusNotModified || r.body != "" || r.header.Get("ETag") != etag {
			t.Errorf("If-None-Match %s: %d %q %v", inm, r.code, r.body, r.header)
		}
	}
	if r := e.do(req{method: "GET", path: "/api/v4/openapi.json", header: http.Header{"If-None-Match": {`"stale"`}}}); r.code != 200 {
		t.Errorf("stale If-None-Match: %d", r.code)
	}
	if r := e.do(req{method: "POST", path: "/api/v4/openapi.json"}); r.code != 404 {
		t.Errorf("POST: %d %s", r.code, r.body)
	}
	if r := e.do(req{method: "GET", path: "/api/v4/openapi.json?private_token=nope"}); r.code != 200 {
		t.Errorf("with a bad token in the query: %d %s", r.code, r.body)
	}
	// Serving the document costs nothing in the failed-authentication
	// throttle, even with a credential that would fail.
	th := newEnv(t, func(_ *patkit.Options, ho *httpapi.Options) {
		ho.FailedAuthLimit = &httpapi.FailedAuthLimit{Limit: 1, Period: time.Minute}
	})
	for range 3 {
		if r := th.do(req{method: "GET", path: "/api/v4/openapi.json", token: "glpat-nope"}); r.code != 200 {
			t.Fatalf("throttled: %d", r.code)
		}
	}
	if r := th.do(req{method: "GET", path: "/api/v4/personal_access_tokens/self", token: "glpat-nope"}); r.code != 401 {
		t.Errorf("first failure after the document: %d, want 401", r.code)
	}
}

// TestOpenAPIConformFails checks that conform's checks can fail: a
// response of an undocumented status, one missing a required header, and
// one with a field the document does not name.
func TestOpenAPIConformFails(t *testing.T) {
	s := spec(t)
	r, _ := http.NewRequest("GET", "/api/v4/personal_access_tokens/self", nil)
	_, pattern := s.mux.Handler(r)
	if pattern != "GET /api/v4/personal_access_tokens/self" {
		t.Fatalf("pattern %q", pattern)
	}
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	tok := `{"id":1,"name":"a","revoked":false,"created_at":"2026-03-01T12:00:00.123Z","description":null,"scopes":["api"],"user_id":2,"last_used_at":null,"active":true,"granular":false,"expires_at":"2026-04-01"`
	if err := s.check(r, pattern, 200, jsonHeader, []byte(tok+`}`)); err != nil {
		t.Errorf("a conforming token: %v", err)
	}
	for name, c := range map[string]struct {
		status int
		header http.Header
		body   string
	}{
		"new field":          {200, jsonHeader, tok + `,"allowed_cidrs":[]}`},
		"missing field":      {200, jsonHeader, `{"id":1}`},
		"bad date":           {200, jsonHeader, strings.Replace(tok, "2026-04-01", "2026-04-01T00:00:00Z", 1) + `}`},
		"unknown scope":      {200, jsonHeader, strings.Replace(tok, `"api"`, `"apix"`, 1) + `}`},
		"revoked yet active": {200, jsonHeader, strings.Replace(tok, `"revoked":false`, `"revoked":true`, 1) + `}`},
		"undocumented 418":   {418, jsonHeader, `{"message":"418 I'm a teapot"}`},
		"wrong error shape":  {401, jsonHeader, `{"error":"401 Unauthorized"}`},
		"wrong content type": {200, http.Header{"Content-Type": {"text/html"}}, tok + `}`},
	} {
		if err := s.check(r, pattern, c.status, c.header, []byte(c.body)); err == nil {
			t.Errorf("%s: conforms", name)
		}
	}
	list, _ := http.NewRequest("GET", "/api/v4/personal_access_tokens", nil)
	_, pattern = s.mux.Handler(list)
	if err := s.check(list, pattern, 200, jsonHeader, []byte(`[]`)); err == nil || !strings.Contains(err.Error(), "X-Page") {
		t.Errorf("a page without pagination headers: %v", err)
	}
	paged := http.Header{"Content-Type": {"application/json"}, "X-Page": {"1"}, "X-Per-Page": {"20"},
		"X-Next-Page": {""}, "X-Prev-Page": {""}, "Link": {`</api/v4/personal_access_tokens?page=1&per_page=20>; rel="first"`}}
	if err := s.check(list, pattern, 200, paged, []byte(`[]`)); err != nil {
		t.Errorf("a conforming empty page: %v", err)
	}
	for name, h := range map[string][2]string{
		"no first link":  {"Link", `</api/v4/personal_access_tokens?page=2&per_page=20>; rel="next"`},
		"page 0":         {"X-Page", "0"},
		"per_page 101":   {"X-Per-Page", "101"},
		"next page junk": {"X-Next-Page", "x"},
	} {
		bad := http.Header{}
		for k, v := range paged {
			bad[k] = v
		}
		bad.Set(h[0], h[1])
		if err := s.check(list, pattern, 200, bad, []byte(`[]`)); err == nil {
			t.Errorf("%s: conforms", name)
		}
	}
	rt, _ := http.NewRequest("GET", "/api/v4/projects/1/access_tokens/1", nil)
	_, pattern = s.mux.Handler(rt)
	res := tok + `,"last_used_ips":[],"access_level":40,"resource_type":"project","resource_id":1}`
	if err := s.check(rt, pattern, 200, jsonHeader, []byte(res)); err != nil {
		t.Errorf("a conforming project access token: %v", err)
	}
	if err := s.check(rt, pattern, 200, jsonHeader, []byte(strings.Replace(res, `"api"`, `"read_user"`, 1))); err == nil {
		t.Errorf("a project access token with read_user conforms")
	}
}

// TestSchemaValidatorTestOnly checks that the JSON Schema validator the
// OpenAPI tests use is not linked into package httpapi.
func TestSchemaValidatorTestOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "jsonschema") {
		t.Errorf("httpapi depends on a JSON Schema package:\n%s", out)
	}
}

// TestEveryHandlerConforms keeps conform where it matters: every Handler
// the tests build with httpapi.New and serve API requests with is wrapped
// by conform, so that its responses are validated against the document. A
// New whose result goes anywhere else than conform, env.api (which newEnv
// and its kin wrap), or the host middleware (RequireScopes, Authenticate:
// host routes, not the API) fails. The examples, which show the API as a
// host writes it, are left out.
func TestEveryHandlerConforms(t *testing.T) {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	middleware := func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		return ok && (sel.Sel.Name == "RequireScopes" || sel.Sel.Name == "Authenticate")
	}
	wrapped := func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return false
		}
		fn, ok := call.Fun.(*ast.Ident)
		return ok && fn.Name == "conform"
	}
	n := 0
	for _, name := range files {
		if name == "example_test.go" {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		var stack []ast.Node
		ast.Inspect(f, func(node ast.Node) bool {
			if node == nil {
				stack = stack[:len(stack)-1]
				return true
			}
			stack = append(stack, node)
			call, ok := node.(*ast.CallExpr)
			if !ok {
				return true
			}
			if sel, ok := call.Fun.(*ast.SelectorExpr); !ok || sel.Sel.Name != "New" || fmt.Sprint(sel.X) != "httpapi" {
				return true
			}
			n++
			parent := stack[len(stack)-2]
			if wrapped(parent) || middleware(parent) {
				return true
			}
			if as, ok := parent.(*ast.AssignStmt); ok && len(as.Lhs) == 1 {
				switch lhs := as.Lhs[0].(type) {
				case *ast.SelectorExpr:
					if lhs.Sel.Name == "api" {
						return true
					}
				case *ast.Ident:
					// Every other use of the variable in its function
					// must be conform's argument or a middleware's
					// receiver.
					var fn ast.Node
					for _, s := range slices.Backward(stack) {
						if _, ok := s.(*ast.FuncDecl); ok {
							fn = s
							break
						}
					}
					ok := true
					var inner []ast.Node
					ast.Inspect(fn, func(m ast.Node) bool {
						if m == nil {
							inner = inner[:len(inner)-1]
							return true
						}
						inner = append(inner, m)
						id, isID := m.(*ast.Ident)
						if !isID || id.Name != lhs.Name || id == lhs || len(inner) < 2 {
							return true
						}
						p := inner[len(inner)-2]
						if field, isSel := p.(*ast.SelectorExpr); isSel && field.Sel == id {
							return true // e.h: a field, not the variable
						}
						if !wrapped(p) && !middleware(p) {
							ok = false
						}
						return true
					})
					if ok {
						return true
					}
				}
			}
			t.Errorf("%s: a Handler whose responses are not validated: wrap it with conform(t, ...)", fset.Position(call.Pos()))
			return true
		})
	}
	if n == 0 {
		t.Fatal("no httpapi.New found: the test looks at nothing")
	}
}

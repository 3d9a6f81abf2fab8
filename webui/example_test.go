package webui_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/memstore"
	"github.com/patkit/patkit/webui"
)

// A host mounts the pages with two lines; its own sign-in says who is
// signed in (here a header stands in for the host's session cookie).
func Example() {
	dir := new(patkit.MemDirectory)
	dir.AddUser(patkit.User{ID: 2, Username: "alice", Name: "Alice"})
	svc, _ := patkit.New(memstore.New(), dir, []byte("0123456789abcdef0123456789abcdef"), nil)
	signedIn := func(r *http.Request) (*patkit.Principal, error) {
		if r.Header.Get("X-Session-User") != "alice" { // the host's session check
			return nil, nil
		}
		return svc.Principal(r.Context(), 2, false)
	}
	mux := http.NewServeMux()

	ui := webui.New(svc, &webui.Options{Principal: signedIn})
	mux.Handle("/", ui)

	req := httptest.NewRequest("GET", "/-/user_settings/personal_access_tokens", nil)
	req.Header.Set("X-Session-User", "alice")
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	title := regexp.MustCompile(`<title>(.*)</title>`).FindStringSubmatch(w.Body.String())[1]
	fmt.Println(w.Code, title, w.Header().Get("Cache-Control"))
	// Output:
	// 200 Personal access tokens no-store
}

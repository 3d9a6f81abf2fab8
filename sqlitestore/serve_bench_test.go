package sqlitestore_test

import (
	"log/slog"
	"net/http"
	"testing"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/httpapi"
	"github.com/patkit/patkit/internal/benchhttp"
)

// BenchmarkServeList is the server's side of benchtable's http-list rows
// in process, without net/http's connection: an administrator's GET
// /personal_access_tokens?per_page=20 through httpapi, the Service and
// sqlitestore on 10,000 tokens.
func BenchmarkServeList(b *testing.B) {
	svc, root := benchService(b, nil)
	_, secret, err := svc.CreateToken(b.Context(), root, 1, patkit.TokenOptions{Name: "root", Scopes: []patkit.Scope{patkit.ScopeAPI}})
	if err != nil {
		b.Fatal(err)
	}
	api := httpapi.New(svc, &httpapi.Options{Logger: slog.New(slog.DiscardHandler)})
	r, err := http.NewRequest("GET", "/api/v4/personal_access_tokens?per_page=20", nil)
	if err != nil {
		b.Fatal(err)
	}
	r.RemoteAddr = "127.0.0.1:40000"
	r.Header.Set("PRIVATE-TOKEN", secret)
	w := benchhttp.NewDiscard()
	b.ReportAllocs()
	for b.Loop() {
		w.Reset()
		api.ServeHTTP(w, r)
		if w.Code != 0 && w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}

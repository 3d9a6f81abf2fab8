package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestWireConn sends requests on one wireConn to a server that answers
// with a length, chunked (a body written in pieces, without a length),
// with Connection: close, and with an error status, and checks every
// status, that the request arrived whole, and that the connection is
// kept, or dialed again after a close.
func TestWireConn(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Private-Token") != "secret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Query().Get("as") {
		case "chunked":
			for i := range 50 {
				fmt.Fprintf(w, "%d %s\n", i, strings.Repeat("x", 200))
				w.(http.Flusher).Flush()
			}
		case "close":
			w.Header().Set("Connection", "close")
			w.Write([]byte("bye"))
		default:
			w.Write([]byte(`{"ok":true}`))
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	for _, c := range []struct {
		query, token string
		want         int
		conns        int64 // connections opened by the end of the 3 requests
	}{
		{"", "secret", 200, 1},
		{"as=chunked", "secret", 200, 1},
		{"", "nope", 401, 1},
		{"as=close", "secret", 200, 3},
	} {
		conns.Store(0)
		r, err := http.NewRequest("GET", srv.URL+"/x?"+c.query, nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("PRIVATE-TOKEN", c.token)
		w, err := newWireConn(r)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			code, err := w.do()
			if err != nil || code != c.want {
				t.Fatalf("%q request %d: %d, %v; want %d", c.query, i, code, err, c.want)
			}
		}
		w.close()
		if n := conns.Load(); n != c.conns {
			t.Errorf("%q: %d connections, want %d", c.query, n, c.conns)
		}
	}
}

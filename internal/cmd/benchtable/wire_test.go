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

// TestWireConnBody checks that a wireConn keeps the body of answers with
// a length and chunked ones when asked, reads none after 204 No Content,
// and that set changes the request it sends on the same connection.
func TestWireConnBody(t *testing.T) {
	var conns atomic.Int64
	long := strings.Repeat("y", 20<<10) // beyond the reader's buffer
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			for i := range 50 {
				fmt.Fprintf(w, "%d %s\n", i, strings.Repeat("x", 200))
				w.(http.Flusher).Flush()
			}
		case "/long":
			w.Header().Set("Content-Length", fmt.Sprint(len(long)))
			w.Write([]byte(long))
		case "/none":
			w.WriteHeader(http.StatusNoContent)
		default:
			fmt.Fprintf(w, "%s %s", r.Method, r.URL.Path)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	var chunked strings.Builder
	for i := range 50 {
		fmt.Fprintf(&chunked, "%d %s\n", i, strings.Repeat("x", 200))
	}
	var w *wireConn
	for _, c := range []struct {
		method, path string
		code         int
		want         string
	}{
		{"GET", "/a", 200, "GET /a"},
		{"DELETE", "/tokens/7", 200, "DELETE /tokens/7"},
		{"GET", "/chunked", 200, chunked.String()},
		{"DELETE", "/none", 204, ""},
		{"GET", "/long", 200, long},
		{"POST", "/b", 200, "POST /b"},
	} {
		r, err := http.NewRequest(c.method, srv.URL+c.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if w == nil {
			if w, err = newWireConn(r); err != nil {
				t.Fatal(err)
			}
			w.keepBody = true
			defer w.close()
		} else if err := w.set(r); err != nil {
			t.Fatal(err)
		}
		code, err := w.do()
		if err != nil || code != c.code || string(w.body) != c.want {
			t.Errorf("%s %s: %d, %v, body %.40q (%d bytes); want %d, %.40q (%d bytes)", c.method, c.path, code, err, w.body, len(w.body), c.code, c.want, len(c.want))
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

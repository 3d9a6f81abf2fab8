package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
)

// TestMain serves the bare handler when the run under test starts this
// binary as it starts the command, with -serve-bare (see bareServer).
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == "-serve-bare" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestQuickRun runs the command as -quick does, with shorter loads, on
// memstore and SQLite only, and checks that the table has every row, each
// measured or, for PostgreSQL, skipped. It asserts no timing: whether a
// goal is met depends on the machine.
func TestQuickRun(t *testing.T) {
	if testing.Short() {
		t.Skip("measures every memstore and SQLite row, with loads of 300 ms")
	}
	args := []string{"-quick", "-pg", "", "-duration", "300ms", "-benchtime", "20ms", "-tokens", "5000"}
	var out, progress bytes.Buffer
	if err := run(t.Context(), args, &out, &progress); err != nil {
		t.Fatalf("run: %v\nprogress:\n%s", err, &progress)
	}
	cfg, err := parseFlags(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	table := out.String()
	lines := make(map[string]string)
	for line := range strings.Lines(table) {
		if id, _, ok := strings.Cut(strings.TrimPrefix(line, "| `"), "`"); ok && strings.HasPrefix(line, "| `") {
			lines[id] = line
		}
	}
	for _, want := range []string{"| row | what | measured | reference | ratio | goal | met |", "- Go: go", "- CPU: ", "**quick run**"} {
		if !strings.Contains(table, want) {
			t.Errorf("no %q in the table:\n%s", want, table)
		}
	}
	rows := allRows(cfg)
	if len(lines) != len(rows) {
		t.Errorf("the table has %d rows, want %d:\n%s", len(lines), len(rows), table)
	}
	for _, r := range rows {
		line, ok := lines[r.id]
		switch {
		case !ok:
			t.Errorf("row %s is missing", r.id)
		case r.pg && !strings.Contains(line, "skipped: no -pg DSN"):
			t.Errorf("row %s ran without PostgreSQL: %s", r.id, line)
		case !r.pg && (strings.Contains(line, "skipped") || strings.Contains(line, "error")):
			t.Errorf("row %s was not measured: %s", r.id, line)
		case !r.pg && !strings.HasSuffix(strings.TrimSpace(line), "| yes |") && !strings.HasSuffix(strings.TrimSpace(line), "| **no** |") && !strings.HasSuffix(strings.TrimSpace(line), "| – |"):
			t.Errorf("row %s has no verdict: %s", r.id, line)
		}
	}
}

func TestRowsFlag(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-quick", "-pg", "", "-rows", "^reject$", "-benchtime", "10ms"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "| `"); n != 1 || !strings.Contains(out.String(), "| `reject` |") {
		t.Errorf("-rows ^reject$ printed %d rows:\n%s", n, &out)
	}
	if err := run(t.Context(), []string{"-rows", "^nothing$"}, io.Discard, io.Discard); err == nil {
		t.Error("-rows matching nothing: no error")
	}
}

// TestServeBare serves the bare handler with -serve-bare and checks its
// answers with and without the token it prints, and that run returns
// when its context ends.
func TestServeBare(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	r, w := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-serve-bare", "127.0.0.1:0"}, io.Discard, w) }()
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, r)
	m := regexp.MustCompile(`^bare handler on (http://\S+/): 200 with the header PRIVATE-TOKEN: (\S+), 401 without it\n$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("printed %q", line)
	}
	for _, c := range []struct {
		token string
		want  int
	}{{m[2], http.StatusOK}, {"", http.StatusUnauthorized}} {
		req, _ := http.NewRequest("GET", m[1], nil)
		if c.token != "" {
			req.Header.Set("PRIVATE-TOKEN", c.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("token %q: %d, want %d", c.token, resp.StatusCode, c.want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}

// TestSend checks that -send sends its requests on one connection, with
// the token of -token-file, and prints the statuses they got.
func TestSend(t *testing.T) {
	var conns, n atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%2 == 0 || r.Header.Get("PRIVATE-TOKEN") != "secret" {
			w.WriteHeader(http.StatusUnauthorized)
		}
		io.WriteString(w, "{}")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	tokens := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokens, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-send", srv.URL + "/x", "-send-n", "5", "-token-file", tokens}, io.Discard, &out); err != nil {
		t.Fatal(err)
	}
	if want := "5 requests to " + srv.URL + "/x: map[200:3 401:2]\n"; out.String() != want || conns.Load() != 1 {
		t.Errorf("printed %q on %d connections, want %q on 1", out.String(), conns.Load(), want)
	}
}

// TestHeadTail checks that a process's stderr keeps its first and last
// bytes and marks what it dropped between them.
func TestHeadTail(t *testing.T) {
	var h headTail
	h.Write([]byte("listening\n"))
	if got := h.String(); got != "listening\n" {
		t.Fatalf("%q", got)
	}
	line := []byte(strings.Repeat("x", 99) + "\n")
	for range 1000 { // 100 KB
		h.Write(line)
	}
	h.Write([]byte("the end\n"))
	head, all := string(h.head()), h.String()
	if len(head) != headTailSize || !strings.HasPrefix(head, "listening\n") {
		t.Errorf("head: %d bytes, starting %.20q", len(head), head)
	}
	if !strings.HasSuffix(all, "the end\n") || !strings.Contains(all, "\n[…]\n") || len(all) != 2*headTailSize+len("\n[…]\n") {
		t.Errorf("String: %d bytes, ending %q", len(all), all[len(all)-20:])
	}
}

// A ratio just short of its goal never prints as the goal.
func TestDown(t *testing.T) {
	for _, c := range []struct{ x, want float64 }{{89.96, 89.9}, {90, 90}, {49.99, 49.9}, {91.25, 91.2}} {
		if got := down(c.x); fmt.Sprintf("%.1f", got) != fmt.Sprintf("%.1f", c.want) {
			t.Errorf("down(%v) prints %.1f, want %.1f", c.x, got, c.want)
		}
	}
}

// A ratio to a goal prints 1.00× only when the goal is met: 997
// creates/s against 1,000 printed "1.00× goal" beside "no".
func TestGoalRatio(t *testing.T) {
	for _, c := range []struct {
		measure, goal float64
		atLeast       bool
		want          string
	}{
		{997, 1000, true, "0.99× goal"},
		{1000, 1000, true, "1.00× goal"},
		{2390, 1000, true, "2.39× goal"},
		{7e3, 10e3, true, "0.70× goal"},
		{2.008e6, 2e6, false, "1.01× goal"},
		{1.992e6, 2e6, false, "1.00× goal"},
		{7e3, 10e3, false, "0.70× goal"},
		{4.97e3, 10e3, false, "0.50× goal"},
	} {
		if got := goalRatio(c.measure, c.goal, c.atLeast); got != c.want {
			t.Errorf("goalRatio(%v, %v, %v) = %q, want %q", c.measure, c.goal, c.atLeast, got, c.want)
		}
	}
}

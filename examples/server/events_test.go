package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// readEvents reads a file of JSON lines, less a last line not yet ended
// (a server may be writing it).
func readEvents(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(b, []byte("\n"))
	var evs []map[string]any
	for _, line := range lines[:len(lines)-1] {
		var e map[string]any
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		evs = append(evs, e)
	}
	return evs
}

// checkEvent checks the fields every event has: a UUIDv7 id, a type and
// an RFC 3339 time.
func checkEvent(t *testing.T, e map[string]any) {
	t.Helper()
	id, _ := e["id"].(string)
	if u, err := uuid.Parse(id); err != nil || u.Version() != 7 {
		t.Errorf("event id %q: %v, version %d", id, err, u.Version())
	}
	if typ, _ := e["type"].(string); !strings.HasPrefix(typ, "token_") {
		t.Errorf("event type %q", typ)
	}
	if tm, _ := e["time"].(string); tm == "" {
		t.Errorf("event time missing: %v", e)
	} else if _, err := time.Parse(time.RFC3339Nano, tm); err != nil {
		t.Errorf("event time %q: %v", tm, err)
	}
}

func types(evs []map[string]any) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e["type"].(string))
	}
	return out
}

// The server appends its events to -events, one JSON object a line, and
// has written them all once it has shut down.
func TestEventsFile(t *testing.T) {
	dir := t.TempDir()
	events := filepath.Join(dir, "events.jsonl")
	s := startArgs(t, "-db", filepath.Join(dir, "patkit.db"), "-root-token-file", filepath.Join(dir, "root.token"), "-events", events)
	b, _ := os.ReadFile(filepath.Join(dir, "root.token"))
	root := strings.TrimSpace(string(b))
	code, _, created, _ := s.call(t, "POST", "/api/v4/users/2/personal_access_tokens", root,
		map[string]any{"name": "alice-ci", "scopes": []string{"api"}})
	if code != 201 {
		t.Fatalf("create: %d %v", code, created)
	}
	if code, _, _, _ := s.call(t, "DELETE", "/api/v4/personal_access_tokens/"+jsonID(created), root, nil); code != 204 {
		t.Fatalf("revoke: %d", code)
	}
	s.shutdown(t)

	evs := readEvents(t, events)
	for _, e := range evs {
		checkEvent(t, e)
		if strings.Contains(string(mustJSON(t, e)), "glpat-") {
			t.Errorf("an event holds a secret: %v", e)
		}
	}
	got := strings.Join(types(evs), " ")
	// The root token, root's first use from 127.0.0.1, alice's token, its
	// revocation. (Both tokens expire in a year: no notice is due.)
	want := "token_created token_new_address token_created token_revoked"
	if got != want {
		t.Errorf("event types %q, want %q", got, want)
	}
	last := evs[len(evs)-1]
	if last["reason"] != "administrator" || last["actor"].(map[string]any)["username"] != "root" ||
		last["actor"].(map[string]any)["ip"] != "127.0.0.1" || last["token"].(map[string]any)["name"] != "alice-ci" {
		t.Errorf("revocation event %v", last)
	}
	if fi, err := os.Stat(events); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("events file: %v %v", fi, err)
	}

	// A restart appends, and its sweep sends nothing for the revoked token.
	s = startArgs(t, "-db", filepath.Join(dir, "patkit.db"), "-root-token-file", filepath.Join(dir, "root.token"), "-events", events)
	s.shutdown(t)
	if again := readEvents(t, events); len(again) != len(evs) {
		t.Errorf("after a restart: %d events, want the %d of before", len(again), len(evs))
	}
}

func jsonID(obj map[string]any) string {
	b, _ := json.Marshal(obj["id"])
	return string(b)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The expiry sweep runs at start: a token that expires in 3 days gets its
// 7-day notice, once, from one of two servers on the database.
func TestEventsExpiryNotice(t *testing.T) {
	dir := t.TempDir()
	events := filepath.Join(dir, "events.jsonl")
	flags := []string{"-db", filepath.Join(dir, "patkit.db"), "-root-token-file", filepath.Join(dir, "root.token"), "-events", events}
	s := startArgs(t, flags...)
	b, _ := os.ReadFile(filepath.Join(dir, "root.token"))
	root := strings.TrimSpace(string(b))
	code, _, created, _ := s.call(t, "POST", "/api/v4/users/2/personal_access_tokens", root,
		map[string]any{"name": "soon", "scopes": []string{"api"}, "expires_at": time.Now().UTC().AddDate(0, 0, 3).Format(time.DateOnly)})
	if code != 201 {
		t.Fatalf("create: %d %v", code, created)
	}
	// Two more servers on the file, each sweeping at start and every
	// 250 ms. Each sweep is a write per kind of notice, with its fsync:
	// at 50 ms, on a loaded machine, the two kept SQLite's write lock so
	// busy that the third server's migration waited out its 10 s.
	more := append(flags[:len(flags):len(flags)], "-notice-interval", "250ms")
	a, c := startArgs(t, more...), startArgs(t, more...)
	notices := func() []map[string]any {
		var out []map[string]any
		for _, e := range readEvents(t, events) {
			if e["type"] == "token_expiring_soon" {
				out = append(out, e)
			}
		}
		return out
	}
	for deadline := time.Now().Add(20 * time.Second); len(notices()) == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // more sweeps of both, which must find nothing
	a.shutdown(t)
	c.shutdown(t)
	s.shutdown(t)
	if notices := notices(); len(notices) != 1 || notices[0]["notice"] != "seven_days" || notices[0]["token"].(map[string]any)["name"] != "soon" || notices[0]["actor"] != nil {
		t.Errorf("expiry notices: %v, want one 7-day notice of the token named soon", notices)
	}
}

// receiver is a webhook endpoint that refuses the first fail deliveries
// of each event with 500, and records the others.
type receiver struct {
	secret []byte
	fail   int

	mu       sync.Mutex
	attempts map[string]int
	got      []map[string]any
	bad      []string
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	id := req.Header.Get("X-Patkit-Event-ID")
	if want := sign(r.secret, body); !hmac.Equal([]byte(req.Header.Get("X-Patkit-Signature")), []byte(want)) {
		r.bad = append(r.bad, "bad signature on "+id)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	r.attempts[id]++
	if r.attempts[id] <= r.fail {
		http.Error(w, "try later", http.StatusInternalServerError)
		return
	}
	var e map[string]any
	if err := json.Unmarshal(body, &e); err != nil || e["id"] != id || e["type"] != req.Header.Get("X-Patkit-Event") {
		r.bad = append(r.bad, "body "+string(body))
	}
	r.got = append(r.got, e)
	w.WriteHeader(http.StatusNoContent)
}

// shortBackoff makes webhook retries fast for the test.
func shortBackoff(t *testing.T) {
	minB, maxB := webhookMinBackoff, webhookMaxBackoff
	webhookMinBackoff, webhookMaxBackoff = 5*time.Millisecond, 20*time.Millisecond
	t.Cleanup(func() { webhookMinBackoff, webhookMaxBackoff = minB, maxB })
}

// Webhooks are signed, retried with backoff after failures, and all
// delivered, in order, by the time the server has shut down.
func TestEventsWebhook(t *testing.T) {
	shortBackoff(t)
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "hook.secret")
	secret := []byte("0123456789abcdef-webhook-secret")
	if err := os.WriteFile(secretFile, append(secret, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	rcv := &receiver{secret: secret, fail: 2, attempts: make(map[string]int)}
	hook := httptest.NewServer(rcv)
	defer hook.Close()
	events := filepath.Join(dir, "events.jsonl")
	s := startArgs(t, "-db", filepath.Join(dir, "patkit.db"), "-root-token-file", filepath.Join(dir, "root.token"),
		"-events", events, "-events-webhook", hook.URL, "-events-webhook-secret-file", secretFile)
	b, _ := os.ReadFile(filepath.Join(dir, "root.token"))
	root := strings.TrimSpace(string(b))
	for _, name := range []string{"one", "two", "three"} {
		if code, _, body, _ := s.call(t, "POST", "/api/v4/users/2/personal_access_tokens", root,
			map[string]any{"name": name, "scopes": []string{"api"}}); code != 201 {
			t.Fatalf("create: %d %v", code, body)
		}
	}
	s.shutdown(t)

	lines := readEvents(t, events)
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.bad) > 0 {
		t.Errorf("receiver: %q", rcv.bad)
	}
	if len(rcv.got) != len(lines) || len(lines) != 5 {
		t.Fatalf("webhook got %d events, the file %d; want the same 5", len(rcv.got), len(lines))
	}
	for i, e := range rcv.got {
		checkEvent(t, e)
		if e["id"] != lines[i]["id"] {
			t.Errorf("webhook event %d is %v, the file's %v: want the same order", i, e["id"], lines[i]["id"])
		}
		if n := rcv.attempts[e["id"].(string)]; n != 3 {
			t.Errorf("event %v delivered at attempt %d, want 3 (two failures first)", e["id"], n)
		}
	}
	if !strings.Contains(s.stderr.String(), "webhook delivery failed, retrying") {
		t.Errorf("retries not logged:\n%s", s.stderr)
	}
}

// A webhook that never answers holds up no request, and the shutdown
// gives up on it after its bound.
func TestEventsWebhookHangs(t *testing.T) {
	shortBackoff(t)
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "hook.secret")
	if err := os.WriteFile(secretFile, []byte("0123456789abcdef-webhook-secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hook.Close()
	defer close(release)
	s := startArgs(t, "-db", filepath.Join(dir, "patkit.db"), "-root-token-file", filepath.Join(dir, "root.token"),
		"-events-webhook", hook.URL, "-events-webhook-secret-file", secretFile)
	b, _ := os.ReadFile(filepath.Join(dir, "root.token"))
	root := strings.TrimSpace(string(b))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 50 {
			if code, _, body, _ := s.call(t, "POST", "/api/v4/users/2/personal_access_tokens", root,
				map[string]any{"name": "x", "scopes": []string{"api"}}); code != 201 {
				t.Errorf("create: %d %v", code, body)
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("requests held up by a webhook that does not answer")
	}
	s.shutdown(t) // within the server's 10 s bound on delivery
}

// The webhook's queue is bounded: when full, events are dropped and
// counted, never waited for.
func TestWebhookQueueBounded(t *testing.T) {
	w := &webhook{queue: make(chan delivery, 2), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for range 5 {
		w.enqueue(delivery{id: "x"})
	}
	if len(w.queue) != 2 || w.dropped.Load() != 3 {
		t.Errorf("queue %d, dropped %d; want 2 and 3", len(w.queue), w.dropped.Load())
	}
}

// Flags that cannot work are refused at start.
func TestEventsFlags(t *testing.T) {
	dir := t.TempDir()
	open := filepath.Join(dir, "open.secret")
	os.WriteFile(open, []byte("0123456789abcdef-webhook-secret"), 0o644)
	short := filepath.Join(dir, "short.secret")
	os.WriteFile(short, []byte("short"), 0o600)
	for _, args := range [][]string{
		{"-events-webhook", "http://127.0.0.1:1/hook"},
		{"-events-webhook", "ftp://x/y", "-events-webhook-secret-file", short},
		{"-events-webhook", "http://127.0.0.1:1/hook", "-events-webhook-secret-file", open},
		{"-events-webhook", "http://127.0.0.1:1/hook", "-events-webhook-secret-file", short},
		{"-events-webhook-secret-file", short},
		{"-notice-interval", "0s"},
		{"-events", filepath.Join(dir, "missing", "events.jsonl")},
	} {
		var stderr bytes.Buffer
		args = append([]string{"-addr", "127.0.0.1:0", "-db", ":memory:", "-root-token-file", filepath.Join(dir, "root.token")}, args...)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := run(ctx, args, &stderr)
		cancel()
		if err == nil {
			t.Errorf("run %q: no error", args)
		}
	}
}

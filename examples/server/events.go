package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/patkit/patkit"
)

// eventJSON is the JSON form of an event, one line of -events and the body
// of a webhook.
type eventJSON struct {
	ID     string     `json:"id"`
	Type   string     `json:"type"`
	Time   time.Time  `json:"time"`
	Actor  *actorJSON `json:"actor,omitempty"`
	Token  tokenJSON  `json:"token"`
	Reason string     `json:"reason,omitempty"`
	Notice string     `json:"notice,omitempty"`
}

type actorJSON struct {
	UserID   int64  `json:"user_id,omitempty"`
	Username string `json:"username,omitempty"`
	SudoerID int64  `json:"sudoer_id,omitempty"`
	TokenID  int64  `json:"token_id,omitempty"`
	IP       string `json:"ip,omitempty"`
}

type tokenJSON struct {
	ID            int64          `json:"id"`
	Name          string         `json:"name"`
	UserID        int64          `json:"user_id"`
	Scopes        []patkit.Scope `json:"scopes"`
	Impersonation bool           `json:"impersonation,omitempty"`
	ResourceType  string         `json:"resource_type,omitempty"`
	ResourceID    int64          `json:"resource_id,omitempty"`
	Revoked       bool           `json:"revoked"`
	ExpiresAt     *string        `json:"expires_at"`
	PreviousID    int64          `json:"previous_id,omitempty"`
	LastUsedIPs   []string       `json:"last_used_ips,omitempty"`
}

// encodeEvent returns the JSON of e, without a newline.
func encodeEvent(e patkit.Event) []byte {
	t := e.Token
	j := eventJSON{ID: e.ID, Type: string(e.Type), Time: e.Time, Reason: string(e.Reason), Notice: e.Notice.String(),
		Token: tokenJSON{ID: t.ID, Name: t.Name, UserID: t.UserID, Scopes: t.Scopes, Impersonation: t.Impersonation,
			ResourceType: string(t.ResourceType), ResourceID: t.ResourceID, Revoked: t.Revoked,
			PreviousID: t.PreviousID, LastUsedIPs: t.LastUsedIPs}}
	if e.Actor != (patkit.Actor{}) {
		a := actorJSON(e.Actor)
		j.Actor = &a
	}
	if !t.ExpiresAt.IsZero() {
		d := t.ExpiresAt.Format(time.DateOnly)
		j.Token.ExpiresAt = &d
	}
	b, err := json.Marshal(j)
	if err != nil { // unreachable: every field encodes
		panic(err)
	}
	return b
}

// eventSink is the Service's OnEvent handler: it writes each event as a
// line of JSON to lines, if set, and queues it for the webhook, if set.
// The Service calls it from one goroutine at a time; neither write waits
// for the network.
type eventSink struct {
	lines io.Writer
	hook  *webhook
	log   *slog.Logger
}

func (s *eventSink) handle(e patkit.Event) {
	b := encodeEvent(e)
	if s.lines != nil {
		if _, err := s.lines.Write(append(b, '\n')); err != nil {
			s.log.Warn("events: write", "err", err, "event", e.ID)
		}
	}
	if s.hook != nil {
		s.hook.enqueue(delivery{id: e.ID, typ: string(e.Type), body: b})
	}
}

// Webhook delivery: a bounded queue drained by one goroutine, which
// POSTs each event in order and retries a failed delivery with
// exponential backoff.
const (
	webhookQueue    = 1024             // events waiting; more are dropped
	webhookAttempts = 8                // deliveries tried per event
	webhookTimeout  = 10 * time.Second // per attempt
)

// Backoff between attempts: doubled from webhookMinBackoff up to
// webhookMaxBackoff (1, 2, 4, ... 60 s: about 2 minutes in all). Tests
// shorten them.
var (
	webhookMinBackoff = time.Second
	webhookMaxBackoff = time.Minute
)

// SignatureHeader carries the signature of a webhook's body:
// "sha256=" and the hex of HMAC-SHA-256(secret, body).
const signatureHeader = "X-Patkit-Signature"

type delivery struct {
	id, typ string
	body    []byte
}

// webhook POSTs events to url, signed with secret.
type webhook struct {
	url    string
	secret []byte
	client *http.Client
	log    *slog.Logger

	queue   chan delivery
	dropped atomic.Uint64
	stop    context.CancelFunc // ends retries and requests in flight
	done    chan struct{}      // closed when run returns
	once    sync.Once
}

// startWebhook starts the goroutine that delivers to url.
func startWebhook(url string, secret []byte, log *slog.Logger) *webhook {
	ctx, cancel := context.WithCancel(context.Background())
	w := &webhook{url: url, secret: secret, client: &http.Client{Timeout: webhookTimeout}, log: log,
		queue: make(chan delivery, webhookQueue), stop: cancel, done: make(chan struct{})}
	go w.run(ctx)
	return w
}

// enqueue queues d, or drops it (logged, counted) if the queue is full.
func (w *webhook) enqueue(d delivery) {
	select {
	case w.queue <- d:
	default:
		w.dropped.Add(1)
		w.log.Warn("events: webhook queue full, event dropped", "event", d.id, "type", d.typ)
	}
}

// close delivers what is queued, waiting until ctx ends, then gives up
// on the rest.
func (w *webhook) close(ctx context.Context) {
	w.once.Do(func() { close(w.queue) })
	select {
	case <-w.done:
	case <-ctx.Done():
		w.stop()
		<-w.done
	}
}

func (w *webhook) run(ctx context.Context) {
	defer close(w.done)
	for d := range w.queue {
		w.deliver(ctx, d)
	}
}

// deliver POSTs d until the receiver answers 2xx, webhookAttempts times at
// most.
func (w *webhook) deliver(ctx context.Context, d delivery) {
	wait := webhookMinBackoff
	for attempt := 1; ; attempt++ {
		err := w.post(ctx, d)
		if err == nil {
			return
		}
		if attempt == webhookAttempts || ctx.Err() != nil {
			w.log.Error("events: webhook delivery failed, event dropped", "event", d.id, "type", d.typ, "attempts", attempt, "err", err)
			return
		}
		w.log.Warn("events: webhook delivery failed, retrying", "event", d.id, "attempt", attempt, "in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		wait = min(2*wait, webhookMaxBackoff)
	}
}

// sign returns the signature header's value for body.
func sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func (w *webhook) post(ctx context.Context, d delivery) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(d.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "patkit-events")
	req.Header.Set("X-Patkit-Event", d.typ)
	req.Header.Set("X-Patkit-Event-ID", d.id)
	req.Header.Set(signatureHeader, sign(w.secret, d.body))
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s", w.url, resp.Status)
	}
	return nil
}

// sendNotices calls SendExpiryNotices at once, then every interval until
// ctx ends.
func sendNotices(ctx context.Context, svc *patkit.Service, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := svc.SendExpiryNotices(ctx)
		if err != nil && ctx.Err() == nil {
			log.Warn("expiry notices", "err", err)
		} else if n > 0 {
			log.Info("expiry notices", "sent", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

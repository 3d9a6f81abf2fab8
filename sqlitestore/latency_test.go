package sqlitestore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patkit/patkit"
)

// How long a revoked token stays usable through another Service on the
// same file, when that Service runs Watch: in another Store of this
// process, and in another process.

// helperEnv names the environment variable that makes
// TestWatchHelperProcess the other process, watching the file it names.
const helperEnv = "PATKIT_SQLITESTORE_WATCH_HELPER"

// watcher is the Service that learns of revocations: it authenticates a
// secret (caching it) and then reports when it first refuses it.
type watcher interface {
	// cache authenticates secret, which must succeed; refused then waits
	// until the secret is refused as revoked and returns when that was
	// seen, as a wall clock time.
	cache(secret string) error
	refused() (time.Time, error)
}

// visibility creates a token through svc, has w cache it, revokes it
// through svc and returns the time from the start of the revocation to w
// refusing the token.
func visibility(ctx context.Context, svc *patkit.Service, root *patkit.Principal, w watcher) (time.Duration, error) {
	tok, secret, err := svc.CreateToken(ctx, root, 2, patkit.TokenOptions{Name: "latency", Scopes: []patkit.Scope{"api"}})
	if err != nil {
		return 0, err
	}
	if err := w.cache(secret); err != nil {
		return 0, err
	}
	// Revoke at a random moment of the watcher's 10 ms polling cycle,
	// rather than in step with it (each trial ends just after a poll).
	time.Sleep(rand.N(15 * time.Millisecond))
	start := time.Now()
	if err := svc.RevokeToken(ctx, root, tok.ID); err != nil {
		return 0, err
	}
	seen, err := w.refused()
	if err != nil {
		return 0, err
	}
	return seen.Sub(start), nil
}

// pollRefused authenticates secret through svc every 200 µs until it is
// refused as revoked, for up to waitLimit, and returns when it was.
func pollRefused(ctx context.Context, svc *patkit.Service, secret string) (time.Time, error) {
	deadline := time.Now().Add(waitLimit)
	for {
		_, err := svc.Authenticate(ctx, secret, patkit.AuthRequest{})
		now := time.Now()
		if errors.Is(err, patkit.ErrTokenRevoked) {
			return now, nil
		}
		if err != nil {
			return time.Time{}, err
		}
		if now.After(deadline) {
			return time.Time{}, fmt.Errorf("the token still authenticates %v after its revocation", waitLimit)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// inProcess is a watching Service in this process, on a Store of its own.
type inProcess struct {
	ctx    context.Context
	svc    *patkit.Service
	secret string
}

func (w *inProcess) cache(secret string) error {
	w.secret = secret
	_, err := w.svc.Authenticate(w.ctx, secret, patkit.AuthRequest{})
	return err
}

func (w *inProcess) refused() (time.Time, error) { return pollRefused(w.ctx, w.svc, w.secret) }

// watchService returns a Service on its own Store on path, running Watch
// until the end of the test. Its cache keeps a token for an hour: only the
// feed can tell it of a revocation within the tests' waits.
func watchService(tb testing.TB, path string) *patkit.Service {
	tb.Helper()
	svc := serviceOn(tb, path, &patkit.Options{CacheTTL: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := svc.Watch(ctx); err != nil && ctx.Err() == nil {
			tb.Errorf("Watch: %v", err)
		}
	})
	tb.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return svc
}

// otherProcess is a watching Service in a child process: this test binary
// running TestWatchHelperProcess.
type otherProcess struct {
	in  io.Writer
	out *bufio.Scanner
}

func startOtherProcess(tb testing.TB, path string) *otherProcess {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestWatchHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		in.Close() // the child's end of input: it stops
		if err := cmd.Wait(); err != nil {
			tb.Errorf("watching process: %v", err)
		}
	})
	p := &otherProcess{in: in, out: bufio.NewScanner(out)}
	if line, err := p.reply(); err != nil || line != "ready" {
		tb.Fatalf("watching process: %q, %v; want ready", line, err)
	}
	return p
}

func (p *otherProcess) reply() (string, error) {
	for p.out.Scan() {
		line := p.out.Text()
		if v, ok := strings.CutPrefix(line, "helper: "); ok {
			return v, nil
		}
		// anything else is go test's own output
	}
	if err := p.out.Err(); err != nil {
		return "", err
	}
	return "", io.ErrUnexpectedEOF
}

func (p *otherProcess) cache(secret string) error {
	if _, err := fmt.Fprintln(p.in, secret); err != nil {
		return err
	}
	line, err := p.reply()
	if err != nil {
		return err
	}
	if line != "cached" {
		return errors.New(line)
	}
	return nil
}

func (p *otherProcess) refused() (time.Time, error) {
	line, err := p.reply()
	if err != nil {
		return time.Time{}, err
	}
	v, ok := strings.CutPrefix(line, "refused ")
	if !ok {
		return time.Time{}, errors.New(line)
	}
	ns, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(0, ns), nil
}

// TestWatchHelperProcess is the other process of the tests and benchmarks
// below, and does nothing unless they start it. It runs a Service with
// Watch on the file its environment names; for each secret read from
// stdin it authenticates it (answering "helper: cached"), then polls until
// the secret is refused as revoked and answers "helper: refused <Unix ns>".
func TestWatchHelperProcess(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		return
	}
	svc := watchService(t, path)
	fmt.Println("helper: ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		secret := in.Text()
		if _, err := svc.Authenticate(t.Context(), secret, patkit.AuthRequest{}); err != nil {
			fmt.Println("helper:", err)
			continue
		}
		fmt.Println("helper: cached")
		at, err := pollRefused(t.Context(), svc, secret)
		if err != nil {
			fmt.Println("helper:", err)
			continue
		}
		fmt.Println("helper: refused", at.UnixNano())
	}
}

// A token revoked in one process is refused by a Service in another
// process on the same file, which runs Watch, though its cache would keep
// the token for an hour. (The wait is a failure bound, not a measure: see
// BenchmarkRevocationVisibility for that.)
func TestTwoProcessesRevocationWatched(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	path := filepath.Join(t.TempDir(), "shared.db")
	svc := serviceOn(t, path, nil) // revokes; not watching
	root := admin(t, svc)
	w := startOtherProcess(t, path)
	for range 5 {
		d, err := visibility(t.Context(), svc, root, w)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("revocation seen by the other process after %v", d)
	}
}

// BenchmarkRevocationVisibility measures, per revocation, the time from
// the start of RevokeToken in one Service to another Service on the same
// file, which runs Watch and had the token cached, refusing it; it reports
// the median and the 99th percentile. Run it with -benchtime=200x for 200
// trials. The watching Service polls every 200 µs, which the figures
// include.
func BenchmarkRevocationVisibility(b *testing.B) {
	for _, bc := range []struct {
		name  string
		other func(b *testing.B, path string) watcher
	}{
		{"TwoHandles", func(b *testing.B, path string) watcher {
			return &inProcess{ctx: b.Context(), svc: watchService(b, path)}
		}},
		{"TwoProcesses", func(b *testing.B, path string) watcher { return startOtherProcess(b, path) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "shared.db")
			svc := serviceOn(b, path, nil) // revokes; not watching
			root := admin(b, svc)
			w := bc.other(b, path)
			var ds []time.Duration
			for b.Loop() {
				d, err := visibility(b.Context(), svc, root, w)
				if err != nil {
					b.Fatal(err)
				}
				ds = append(ds, d)
			}
			slices.Sort(ds)
			q := func(p float64) float64 {
				return float64(ds[min(len(ds)-1, int(p*float64(len(ds))))]) / float64(time.Millisecond)
			}
			b.ReportMetric(q(0.50), "p50-ms")
			b.ReportMetric(q(0.99), "p99-ms")
			b.ReportMetric(float64(ds[len(ds)-1])/float64(time.Millisecond), "max-ms")
			b.ReportMetric(float64(len(ds)), "trials")
		})
	}
}

package patkit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patkit/patkit"
)

// pausingDirectory is a Directory that, once armed, holds the next
// UserByID until released: it freezes one Authenticate between its cache
// read and its last-used write.
type pausingDirectory struct {
	*patkit.MemDirectory
	armed    atomic.Bool
	entered  chan struct{}
	released chan struct{}
}

func newPausingDirectory(d *patkit.MemDirectory) *pausingDirectory {
	return &pausingDirectory{MemDirectory: d, entered: make(chan struct{}), released: make(chan struct{})}
}

func (d *pausingDirectory) UserByID(ctx context.Context, id int64) (*patkit.User, error) {
	if d.armed.CompareAndSwap(true, false) {
		close(d.entered)
		<-d.released
	}
	return d.MemDirectory.UserByID(ctx, id)
}

// TestRevokedNeverComesBack freezes a request that read the token from the
// cache, revokes (or rotates) the token, lets another request cache the
// revoked state, then lets the frozen request record its use. Whatever the
// frozen request wrote, no later Authenticate may accept the old secret.
func TestRevokedNeverComesBack(t *testing.T) {
	for _, how := range []string{"revoke", "rotate"} {
		t.Run(how, func(t *testing.T) {
			w := newWorld(t, nil)
			dir := newPausingDirectory(w.dir)
			svc := mustNew(t, w.store, dir, w)
			ctx := t.Context()
			tok, secret := w.pat(t, 2)
			if _, err := svc.Authenticate(ctx, secret, patkit.AuthRequest{RemoteIP: "10.0.0.1"}); err != nil {
				t.Fatal(err) // cached, use recorded
			}
			w.clock.Add(11 * time.Minute) // the next use writes last_used_at

			dir.armed.Store(true)
			frozen := make(chan error)
			go func() {
				_, err := svc.Authenticate(ctx, secret, patkit.AuthRequest{RemoteIP: "10.0.0.2"})
				frozen <- err
			}()
			<-dir.entered

			root, err := svc.Principal(ctx, 1, false)
			if err != nil {
				t.Fatal(err)
			}
			if how == "revoke" {
				err = svc.RevokeToken(ctx, root, tok.ID)
			} else {
				_, _, err = svc.RotateToken(ctx, root, tok.ID, time.Time{})
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Authenticate(ctx, secret, patkit.AuthRequest{}); !errors.Is(err, patkit.ErrTokenRevoked) {
				t.Fatalf("after %s: %v, want ErrTokenRevoked", how, err)
			}
			close(dir.released)
			<-frozen // either answer is acceptable: it began before the revocation

			for i := range 3 {
				if _, err := svc.Authenticate(ctx, secret, patkit.AuthRequest{RemoteIP: fmt.Sprintf("10.0.1.%d", i)}); !errors.Is(err, patkit.ErrTokenRevoked) {
					t.Fatalf("attempt %d after the frozen request finished: %v, want ErrTokenRevoked", i, err)
				}
			}
		})
	}
}

// TestRevocationStress authenticates one token from ever-changing addresses
// (so that nearly every request writes last-used) on several goroutines
// while another revokes it: no request that starts after RevokeToken
// returned may succeed.
func TestRevocationStress(t *testing.T) {
	for trial := range 20 {
		w := newWorld(t, &patkit.Options{LastUsedInterval: time.Nanosecond, LastUsedIPInterval: time.Nanosecond})
		w.clock.Set(t0)
		ctx := t.Context()
		tok, secret := w.pat(t, 2)
		var (
			revoked  atomic.Bool
			accepted atomic.Int64
			wg       sync.WaitGroup
			n        atomic.Int64
		)
		for g := range 4 {
			wg.Go(func() {
				for i := 0; i < 200; i++ {
					after := revoked.Load()
					ip := fmt.Sprintf("10.%d.%d.%d", g, i/250, n.Add(1)%250)
					w.clock.Add(time.Millisecond)
					_, err := w.svc.Authenticate(ctx, secret, patkit.AuthRequest{RemoteIP: ip})
					if after && err == nil {
						accepted.Add(1)
					}
				}
			})
		}
		time.Sleep(time.Duration(trial%5) * time.Millisecond)
		if err := w.svc.RevokeToken(ctx, w.root, tok.ID); err != nil {
			t.Fatal(err)
		}
		revoked.Store(true)
		wg.Wait()
		if a := accepted.Load(); a != 0 {
			t.Fatalf("trial %d: %d requests that started after the revocation were accepted", trial, a)
		}
	}
}

// TestLastUsedWrittenOnce starts many first uses of one token at once, from
// one address: GitLab's throttle allows one last-used write, and a request
// that read the token before another recorded the use must not write it
// again.
func TestLastUsedWrittenOnce(t *testing.T) {
	for trial := range 20 {
		w := newWorld(t, nil)
		_, secret := w.pat(t, 2)
		w.store.setLastUsed.Store(0)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range 32 {
			wg.Go(func() {
				<-start
				if _, err := w.svc.Authenticate(t.Context(), secret, patkit.AuthRequest{RemoteIP: "10.0.0.1"}); err != nil {
					t.Error(err)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := w.store.setLastUsed.Load(); n != 1 {
			t.Fatalf("trial %d: %d last-used writes for one use, want 1", trial, n)
		}
	}
}

package storetest

import (
	"errors"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/patkit/patkit"
)

// selfRotationClients is how many clients share one token in
// testSelfRotationRace.
const selfRotationClients = 4

// selfRotationTrials is the number of trials of each case of
// testSelfRotationRace: PATKIT_TEST_ROTATION_TRIALS, default 50.
func selfRotationTrials(t *testing.T) int {
	if v := os.Getenv("PATKIT_TEST_ROTATION_TRIALS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("PATKIT_TEST_ROTATION_TRIALS=%q: want a positive number", v)
		}
		return n
	}
	if testing.Short() {
		return 10
	}
	return 50
}

// testSelfRotationRace is the case of clients sharing one token that
// rotate it at once, through the Service on s: four clients self-rotate
// the same token together, then each loser tries once more with the old
// secret, as a client that did not get the new one would. With
// patkit.Options.RotationGrace, every trial must leave exactly one working
// token (the winner's), and every loser must have been refused with a 4xx
// (patkit.ErrBadRequest) that revoked nothing. Without it (GitLab's
// behaviour), a loser's retry presents a rotated-out token on a rotation
// path, which revokes the family: the test only counts the trials that
// leave a working token and logs the count.
//
// Each case runs with one Service for all clients (one server), and with
// a Service per client (one server each, on the same storage).
func testSelfRotationRace(t *testing.T, s patkit.Store) {
	trials := selfRotationTrials(t)
	dir := new(patkit.MemDirectory)
	dir.AddUser(patkit.User{ID: 1, Username: "root", Name: "Administrator", Admin: true})
	key := []byte("storetest-self-rotation-key-0123456789")
	nextUser := int64(100)
	for _, grace := range []time.Duration{time.Hour, 0} {
		for _, perClient := range []bool{false, true} {
			name := "GraceOff"
			if grace > 0 {
				name = "GraceOn"
			}
			if perClient {
				name += "/ServicePerClient"
			} else {
				name += "/OneService"
			}
			t.Run(name, func(t *testing.T) {
				svcs := make([]*patkit.Service, selfRotationClients)
				for i := range svcs {
					if i == 0 || perClient {
						svc, err := patkit.New(s, dir, key, &patkit.Options{RotationGrace: grace})
						if err != nil {
							t.Fatal(err)
						}
						svcs[i] = svc
					} else {
						svcs[i] = svcs[0]
					}
				}
				working := 0
				for trial := range trials {
					nextUser++
					if selfRotationTrial(t, s, svcs, dir, nextUser, grace > 0) {
						working++
					}
					if t.Failed() {
						t.Fatalf("trial %d failed", trial+1)
					}
				}
				t.Logf("%s, %d clients: %d of %d trials left a working token", name, selfRotationClients, working, trials)
				if grace > 0 && working != trials {
					t.Errorf("%d of %d trials left a working token, want all", working, trials)
				}
			})
		}
	}
}

// selfRotationTrial runs one trial for a new user uid and reports whether
// it left a working token. With grace it fails the test unless exactly
// one token is left, working, and every loser got ErrBadRequest.
func selfRotationTrial(t *testing.T, s patkit.Store, svcs []*patkit.Service, dir *patkit.MemDirectory, uid int64, grace bool) bool {
	t.Helper()
	c := ctx(t)
	dir.AddUser(patkit.User{ID: uid, Username: "shared" + strconv.FormatInt(uid, 10), Name: "Shared"})
	root, err := svcs[0].Principal(c, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	tok, secret, err := svcs[0].CreateToken(c, root, uid, patkit.TokenOptions{Name: "shared", Scopes: []patkit.Scope{patkit.ScopeAPI}})
	if err != nil {
		t.Fatal(err)
	}
	// Every client has used the token before (it is cached where a
	// cache keeps it).
	for _, svc := range svcs {
		if _, err := svc.Authenticate(c, secret, patkit.AuthRequest{}); err != nil {
			t.Fatal(err)
		}
	}

	type outcome struct {
		secret string
		err    error
	}
	selfRotate := func(svc *patkit.Service) outcome {
		p, err := svc.Authenticate(c, secret, patkit.AuthRequest{Rotate: true})
		if err != nil {
			return outcome{err: err}
		}
		_, sec, err := svc.RotateSelf(c, p, time.Time{})
		return outcome{sec, err}
	}
	first := make([]outcome, len(svcs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, svc := range svcs {
		wg.Go(func() {
			<-start
			first[i] = selfRotate(svc)
		})
	}
	close(start)
	wg.Wait()

	var winner string
	var errs []error
	for i, o := range first {
		if o.err == nil {
			if winner != "" {
				t.Errorf("two clients rotated the token")
			}
			winner = o.secret
			continue
		}
		errs = append(errs, o.err)
		// The loser retries once with the secret it has.
		if r := selfRotate(svcs[i]); r.err == nil {
			t.Errorf("a retry with the rotated-out secret rotated it again")
		} else {
			errs = append(errs, r.err)
		}
	}
	if winner == "" {
		t.Errorf("no client rotated the token: %v", errs)
		return false
	}
	_, werr := svcs[0].Authenticate(c, winner, patkit.AuthRequest{})
	if !grace {
		return werr == nil
	}
	for _, err := range errs {
		var pe *patkit.Error
		if !errors.As(err, &pe) || !errors.Is(err, patkit.ErrBadRequest) {
			t.Errorf("a loser got %v, want an error wrapping %v (a 4xx that revokes nothing)", err, patkit.ErrBadRequest)
		}
	}
	if werr != nil {
		t.Errorf("the winner's token does not authenticate: %v", werr)
	}
	q := &patkit.Query{Filter: patkit.Filter{Page: 1, PerPage: 100, Revoked: new(false)}, UserID: uid}
	q.Normalize()
	q.Now = time.Now()
	left, total, err := s.List(c, q)
	if err != nil {
		t.Fatal(err)
	}
	if total != 1 || len(left) != 1 || left[0].PreviousID != tok.ID {
		t.Errorf("%d tokens left unrevoked, want 1, the successor of %d: %+v", total, tok.ID, left)
	}
	return werr == nil && total == 1
}

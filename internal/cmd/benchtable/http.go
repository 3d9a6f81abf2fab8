package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/httpapi"
	"github.com/patkit/patkit/internal/benchhttp"
)

// httpServer is a handler served on 127.0.0.1 with examples/server's
// http.Server settings.
type httpServer struct {
	url string // http://127.0.0.1:port
}

func (e *env) serve(h http.Handler) (*httpServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := benchhttp.Server(h)
	srv.ErrorLog = slog.NewLogLogger(warnLogger(e.log).Handler(), slog.LevelWarn)
	go srv.Serve(ln)
	e.onClose(srv.Close)
	return &httpServer{url: "http://" + ln.Addr().String()}, nil
}

// warnLogger logs Warn and above to w: what a production host keeps of
// httpapi's one Info record per request.
func warnLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// apiServer is the API on the large dataset of backend in this process,
// on a Service whose Store counts its SetLastUsed calls: what the
// last-used rows measure, which no other process could count.
type apiServer struct {
	f          *fixture
	svc        *patkit.Service
	srv        *httpServer
	setLastUse atomic.Int64 // SetLastUsed calls
}

func (e *env) apiServer(backend string) (*apiServer, error) {
	return memo(e, "api/"+backend, func() (*apiServer, error) {
		f, err := e.fixture(backend, e.cfg.tokens)
		if err != nil {
			return nil, err
		}
		a := &apiServer{f: f}
		// The Service examples/server makes: default Options.
		a.svc, err = patkit.New(f.counted(&a.setLastUse), f.dir, benchKey, nil)
		if err != nil {
			return nil, err
		}
		if err := a.svc.VerifyKey(e.ctx); err != nil {
			return nil, err
		}
		a.srv, err = e.serve(httpapi.New(a.svc, &httpapi.Options{Logger: warnLogger(e.log)}))
		return a, err
	})
}

// loadResult is the outcome of one load.
type loadResult struct {
	ok, errs int64
	elapsed  time.Duration
	firstErr string
}

func (r loadResult) perSecond() float64 { return float64(r.ok) / r.elapsed.Seconds() }

func (r loadResult) String() string {
	s := rate(r.perSecond())
	if r.errs > 0 {
		s += fmt.Sprintf(", %d errors (%s)", r.errs, r.firstErr)
	}
	return s
}

// add adds the outcome of another phase of the same load to r.
func (r *loadResult) add(o loadResult) {
	r.ok += o.ok
	r.errs += o.errs
	r.elapsed += o.elapsed
	if r.firstErr == "" {
		r.firstErr = o.firstErr
	}
}

// loader sends requests made by newReq on conns keep-alive connections,
// in phases, and counts the answers with status want and the others
// (errors). Each connection is a wireConn: the load generator costs
// little next to the server, as wrk does.
type loader struct {
	e     *env
	conns []*wireConn
	want  int
}

func (e *env) newLoader(conns int, want int, newReq func() (*http.Request, error)) (*loader, error) {
	l := &loader{e: e, conns: make([]*wireConn, conns), want: want}
	for i := range l.conns {
		r, err := newReq()
		if err != nil {
			return nil, err
		}
		if l.conns[i], err = newWireConn(r); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// close closes the loader's connections.
func (l *loader) close() {
	for _, c := range l.conns {
		c.close()
	}
}

// phase loads for d.
func (l *loader) phase(d time.Duration) loadResult {
	e := l.e
	var ok, errs atomic.Int64
	var first atomic.Pointer[string]
	fail := func(s string) {
		errs.Add(1)
		first.CompareAndSwap(nil, &s)
	}
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for _, c := range l.conns {
		wg.Go(func() {
			for time.Now().Before(end) && e.ctx.Err() == nil {
				code, err := c.do()
				switch {
				case err != nil:
					fail(err.Error())
					time.Sleep(time.Millisecond)
				case code == l.want:
					ok.Add(1)
				default:
					fail(fmt.Sprintf("status %d", code))
				}
			}
		})
	}
	wg.Wait()
	r := loadResult{ok: ok.Load(), errs: errs.Load(), elapsed: time.Since(start)}
	if p := first.Load(); p != nil {
		r.firstErr = *p
	}
	return r
}

// checked returns r of a load that wanted status want, or why it is no
// measurement.
func (e *env) checked(r loadResult, want int) (loadResult, error) {
	if err := e.ctx.Err(); err != nil {
		return r, err
	}
	if r.ok == 0 {
		return r, fmt.Errorf("no request answered %d: %d errors, the first: %s", want, r.errs, r.firstErr)
	}
	return r, nil
}

// load sends requests made by newReq on conns keep-alive connections for
// e.cfg.duration, after e.cfg.warmup on the same connections, and counts
// the answers with status want and the others (errors).
func (e *env) load(conns int, want int, newReq func() (*http.Request, error)) (loadResult, error) {
	l, err := e.newLoader(conns, want, newReq)
	if err != nil {
		return loadResult{}, err
	}
	defer l.close()
	l.phase(e.cfg.warmup)
	return e.checked(l.phase(e.cfg.duration), want)
}

// turns is the number of turns loadTurns takes.
const turns = 10

// loadTurns loads a and b in turns, each for e.cfg.duration in all after
// e.cfg.warmup: on a machine that runs other work, a change in that
// work weighs on both alike, as it would not on two loads measured one
// after the other.
func (e *env) loadTurns(a, b *loader) (ra, rb loadResult, err error) {
	a.phase(e.cfg.warmup)
	b.phase(e.cfg.warmup)
	for range turns {
		ra.add(a.phase(e.cfg.duration / turns))
		rb.add(b.phase(e.cfg.duration / turns))
	}
	if ra, err = e.checked(ra, a.want); err != nil {
		return ra, rb, err
	}
	rb, err = e.checked(rb, b.want)
	return ra, rb, err
}

// get returns a request maker for GET url with token in PRIVATE-TOKEN.
func get(url, token string) func() (*http.Request, error) {
	return func() (*http.Request, error) {
		r, err := http.NewRequest(http.MethodGet, url, nil)
		if err == nil {
			r.Header.Set("PRIVATE-TOKEN", token)
		}
		return r, err
	}
}

// bareLoad measures the bare handler with a valid (200) or an unknown
// (401) header on conns connections.
func (e *env) bareLoad(valid bool, conns int) (loadResult, error) {
	return memo(e, fmt.Sprintf("bare/%v/%d", valid, conns), func() (loadResult, error) {
		l, err := e.bareLoader(valid, conns)
		if err != nil {
			return loadResult{}, err
		}
		defer l.close()
		l.phase(e.cfg.warmup)
		return e.checked(l.phase(e.cfg.duration), l.want)
	})
}

// bareLoader is a loader of the bare handler with a valid (200) or an
// unknown (401) header on conns connections.
func (e *env) bareLoader(valid bool, conns int) (*loader, error) {
	s, err := e.bareServer()
	if err != nil {
		return nil, err
	}
	token, want := benchhttp.BareToken, http.StatusOK
	if !valid {
		token, want = makeSecret("unknown", 0), http.StatusUnauthorized
	}
	return e.newLoader(conns, want, get(s.url+"/api/v4/personal_access_tokens/self", token))
}

func rowBare(valid bool, conns int) func(e *env) (result, error) {
	return func(e *env) (result, error) {
		r, err := e.bareLoad(valid, conns)
		if err != nil {
			return result{}, err
		}
		return result{measured: r.String(), reference: "–", ratio: "–"}, nil
	}
}

// rowHTTPAuth is GET /personal_access_tokens/self of examples/server with
// a valid token (root's) or an unknown well-formed one, against the bare
// handler's same answer, the two loaded in turns.
func rowHTTPAuth(backend string, valid bool, conns int) func(e *env) (result, error) {
	return func(e *env) (result, error) {
		srv, err := e.exampleServer(backend, valid)
		if err != nil {
			return result{}, err
		}
		token, want, goal := srv.d.root.Secret, http.StatusOK, 0.85
		if !valid {
			token, want, goal = srv.d.unknown, http.StatusUnauthorized, 0.90
		}
		api, err := e.newLoader(conns, want, get(srv.url+"/api/v4/personal_access_tokens/self", token))
		if err != nil {
			return result{}, err
		}
		defer api.close()
		bare, err := e.bareLoader(valid, conns)
		if err != nil {
			return result{}, err
		}
		defer bare.close()
		r, ceiling, err := e.loadTurns(api, bare)
		if err != nil {
			return result{}, err
		}
		ratio := r.perSecond() / ceiling.perSecond()
		return result{
			measured:  r.String(),
			reference: "bare, in turns with it: " + rate(ceiling.perSecond()),
			ratio:     fmt.Sprintf("%.1f%% of bare", down(100*ratio)),
			met:       new(ratio >= goal && r.errs == 0),
		}, nil
	}
}

// giteaList is Gitea 1.26.4's rate for a page of 20 tokens at 16
// connections on SQLite, measured once on the development machine.
const giteaList = 181

func rowHTTPList(backend string) func(e *env) (result, error) {
	return func(e *env) (result, error) {
		srv, err := e.exampleServer(backend, true)
		if err != nil {
			return result{}, err
		}
		r, err := e.load(16, http.StatusOK, get(srv.url+"/api/v4/personal_access_tokens?per_page=20", srv.d.root.Secret))
		if err != nil {
			return result{}, err
		}
		ratio := r.perSecond() / giteaList
		return result{
			measured:  r.String(),
			reference: fmt.Sprintf("Gitea 1.26.4 on SQLite: %d/s (measured once)", giteaList),
			ratio:     fmt.Sprintf("%.1f× Gitea", down(ratio)),
			met:       new(ratio >= 50 && r.errs == 0),
		}, nil
	}
}

// createdIDs are the tokens rowHTTPCreate made, for rowHTTPRevoke.
type createdIDs struct{ ids []int64 }

// httpCreate creates tokens for exampleUser through examples/server, one
// request at a time on one connection, for e.cfg.duration.
func (e *env) httpCreate(backend string) (loadResult, *createdIDs, error) {
	type out struct {
		r   loadResult
		ids *createdIDs
	}
	o, err := memo(e, "http-create/"+backend, func() (out, error) {
		srv, err := e.exampleServer(backend, true)
		if err != nil {
			return out{}, err
		}
		target := fmt.Sprintf("%s/api/v4/users/%d/personal_access_tokens", srv.url, exampleUser)
		form := url.Values{"name": {"benchtable http"}, "scopes[]": {"api"},
			"expires_at": {time.Now().AddDate(0, 0, 30).Format(time.DateOnly)}}.Encode()
		req, err := http.NewRequestWithContext(e.ctx, http.MethodPost, target, strings.NewReader(form))
		if err != nil {
			return out{}, err
		}
		req.Header.Set("PRIVATE-TOKEN", srv.d.root.Secret)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		// The same request every time, on one connection, read off the
		// wire: net/http's client adds some 0.1-0.3 ms of its own to
		// each sequential request on this machine (its connection's
		// goroutines hand each one over twice), which wrk does not.
		conn, err := newWireConn(req)
		if err != nil {
			return out{}, err
		}
		defer conn.close()
		conn.keepBody = true
		ids := &createdIDs{}
		create := func() error {
			code, err := conn.do()
			if err != nil {
				return err
			}
			var tok struct{ ID int64 }
			if err := json.Unmarshal(conn.body, &tok); err != nil || code != http.StatusCreated {
				return fmt.Errorf("status %d (%v)", code, err)
			}
			ids.ids = append(ids.ids, tok.ID)
			return nil
		}
		r, err := e.sequential(create, func() bool { return true })
		return out{r, ids}, err
	})
	return o.r, o.ids, err
}

// sequential runs op one call at a time for e.cfg.duration, or until more
// returns false, after e.cfg.warmup.
func (e *env) sequential(op func() error, more func() bool) (loadResult, error) {
	phase := func(d time.Duration) loadResult {
		var r loadResult
		start := time.Now()
		for time.Since(start) < d && more() && e.ctx.Err() == nil {
			if err := op(); err != nil {
				r.errs++
				if r.firstErr == "" {
					r.firstErr = err.Error()
				}
				continue
			}
			r.ok++
		}
		r.elapsed = time.Since(start)
		return r
	}
	phase(e.cfg.warmup)
	r := phase(e.cfg.duration)
	if err := e.ctx.Err(); err != nil {
		return r, err
	}
	if r.ok == 0 {
		return r, fmt.Errorf("no request succeeded: %d errors, the first: %s", r.errs, r.firstErr)
	}
	return r, nil
}

func rowHTTPCreate(backend string) func(e *env) (result, error) {
	return func(e *env) (result, error) {
		r, _, err := e.httpCreate(backend)
		if err != nil {
			return result{}, err
		}
		return writeResult(e, r)
	}
}

// writeResult is the result of a row of sequential writes, r, with a
// one-row commit measured right after it as its reference.
func writeResult(e *env, r loadResult) (result, error) {
	const goal = 1000
	ref, err := e.commitReference()
	if err != nil {
		return result{}, err
	}
	return result{
		measured:  r.String(),
		reference: ref,
		ratio:     goalRatio(r.perSecond(), goal, true),
		met:       new(r.perSecond() >= goal && r.errs == 0),
	}, nil
}

// rowHTTPRevoke revokes the tokens rowHTTPCreate made, one request at a
// time, until they or e.cfg.duration run out.
func rowHTTPRevoke(backend string) func(e *env) (result, error) {
	return func(e *env) (result, error) {
		_, created, err := e.httpCreate(backend)
		if err != nil {
			return result{}, err
		}
		srv, err := e.exampleServer(backend, true)
		if err != nil {
			return result{}, err
		}
		var conn *wireConn // as httpCreate's, a request set for each token
		defer func() {
			if conn != nil {
				conn.close()
			}
		}()
		revoke := func() error {
			id := created.ids[len(created.ids)-1]
			created.ids = created.ids[:len(created.ids)-1]
			req, err := http.NewRequestWithContext(e.ctx, http.MethodDelete,
				fmt.Sprintf("%s/api/v4/personal_access_tokens/%d", srv.url, id), nil)
			if err != nil {
				return err
			}
			req.Header.Set("PRIVATE-TOKEN", srv.d.root.Secret)
			if conn == nil {
				conn, err = newWireConn(req)
			} else {
				err = conn.set(req)
			}
			if err != nil {
				return err
			}
			code, err := conn.do()
			if err != nil {
				return err
			}
			if code != http.StatusNoContent {
				return fmt.Errorf("status %d", code)
			}
			return nil
		}
		r, err := e.sequential(revoke, func() bool { return len(created.ids) > 0 })
		if err != nil {
			return result{}, err
		}
		res, err := writeResult(e, r)
		if err != nil {
			return result{}, err
		}
		if r.elapsed < e.cfg.duration {
			res.measured += fmt.Sprintf(" (all %d in %s)", r.ok, r.elapsed.Round(time.Millisecond))
		}
		return res, nil
	}
}

// rowLastUsed authenticates the dataset's never-used token on 16
// connections for e.cfg.duration and counts the last-used writes: GitLab
// writes at most one per 10 minutes.
func rowLastUsed(backend string) func(e *env) (result, error) {
	return func(e *env) (result, error) {
		a, err := e.apiServer(backend)
		if err != nil {
			return result{}, err
		}
		before := a.setLastUse.Load()
		r, err := e.load(16, http.StatusOK, get(a.srv.url+"/api/v4/personal_access_tokens/self", a.f.d.fresh.Secret))
		if err != nil {
			return result{}, err
		}
		writes := a.setLastUse.Load() - before
		total := e.cfg.duration + e.cfg.warmup
		allowed := 1 + int64(total/(10*time.Minute))
		if writes == 0 {
			return result{}, errors.New("no last-used write: was the token used before?")
		}
		return result{
			measured:  fmt.Sprintf("%d write%s in %s (at %s)", writes, map[bool]string{true: "s"}[writes != 1], total.Round(time.Millisecond), r),
			reference: "GitLab: ≤ 1 per 10 min",
			ratio:     fmt.Sprintf("%d of %d allowed", writes, allowed),
			met:       new(writes <= allowed),
		}, nil
	}
}

// down rounds x down to one decimal, for a ratio that must reach its
// goal: printed rounded to nearest, 89.96% read "90.0%" and not met.
func down(x float64) float64 { return math.Floor(10*x) / 10 }

// goalRatio prints measure/goal to two decimals, rounded away from the
// goal: down where the measure must reach it (atLeast), up where it must
// stay within it, so that "1.00× goal" is always met. The tolerance keeps
// a ratio such as 0.70, which is 0.7000000000000001 in floating point,
// from rounding up to 0.71.
func goalRatio(measure, goal float64, atLeast bool) string {
	r := 100 * measure / goal
	if atLeast {
		r = math.Floor(r + 1e-9)
	} else {
		r = math.Ceil(r - 1e-9)
	}
	return fmt.Sprintf("%.2f× goal", r/100)
}

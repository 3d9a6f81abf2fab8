package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// env holds what rows share: datasets, servers and measurements, each
// made on first use and kept for the run.
type env struct {
	ctx   context.Context
	cfg   *config
	log   io.Writer
	tmp   string // the SQLite datasets
	start time.Time

	memos   map[string]memoEntry
	closers []func() error // run in reverse order by close
	builds  []string       // "SQLite 1,000,000 in 12 s"
}

type memoEntry struct {
	v   any
	err error
}

func newEnv(ctx context.Context, cfg *config, log io.Writer) (*env, error) {
	tmp, err := os.MkdirTemp("", "benchtable-")
	if err != nil {
		return nil, err
	}
	e := &env{ctx: ctx, cfg: cfg, log: log, tmp: tmp, start: time.Now(), memos: make(map[string]memoEntry)}
	if !cfg.keep {
		e.closers = append(e.closers, func() error { return os.RemoveAll(tmp) })
	} else {
		// -keep keeps the SQLite datasets: the directory goes only if
		// the run built none (os.Remove leaves a directory that is not
		// empty).
		e.closers = append(e.closers, func() error { _ = os.Remove(tmp); return nil })
	}
	return e, nil
}

// close releases everything the run made: servers, stores, the PostgreSQL
// schemas and the temporary directory.
func (e *env) close() error {
	var err error
	for _, c := range slices.Backward(e.closers) {
		err = errors.Join(err, c())
	}
	e.closers = nil
	return err
}

func (e *env) onClose(f func() error) { e.closers = append(e.closers, f) }

func (e *env) logf(format string, args ...any) {
	fmt.Fprintf(e.log, "%s %s\n", time.Since(e.start).Round(time.Second), fmt.Sprintf(format, args...))
}

// memo returns what f returns, calling it only the first time key is asked
// for.
func memo[T any](e *env, key string, f func() (T, error)) (T, error) {
	if m, ok := e.memos[key]; ok {
		v, _ := m.v.(T)
		return v, m.err
	}
	v, err := f()
	e.memos[key] = memoEntry{v, err}
	return v, err
}

// fixture returns the dataset of n tokens on backend ("sqlite",
// "postgres"), built on first use.
func (e *env) fixture(backend string, n int) (*fixture, error) {
	return memo(e, fmt.Sprintf("fixture/%s/%d", backend, n), func() (*fixture, error) {
		e.logf("building the %s dataset of %s tokens", backend, count(n))
		var f *fixture
		var err error
		switch backend {
		case "sqlite":
			f, err = sqliteFixture(e.ctx, e.tmp, n)
			if f != nil {
				e.onClose(func() error { return f.store.(io.Closer).Close() })
				if e.cfg.keep {
					e.logf("-keep: the SQLite dataset of %s tokens stays in %s", count(n), e.tmp)
				}
			}
		case "postgres":
			if e.cfg.pgDSN == "" {
				return nil, errors.New("no -pg DSN")
			}
			var drop func() error
			schema := fmt.Sprintf("patkit_benchtable_%d_%d", os.Getpid(), n)
			f, drop, err = pgFixture(e.ctx, e.cfg.pgDSN, schema, n)
			switch {
			case drop != nil && e.cfg.keep && err == nil:
				e.onClose(f.store.(io.Closer).Close)
				e.logf("-keep: the PostgreSQL dataset of %s tokens stays in schema %s", count(n), schema)
			case drop != nil:
				e.onClose(drop)
			}
		default:
			err = fmt.Errorf("unknown backend %q", backend)
		}
		if err != nil {
			return nil, err
		}
		name := map[string]string{"sqlite": "SQLite", "postgres": "PostgreSQL"}[backend]
		e.builds = append(e.builds, fmt.Sprintf("%s %s in %s", name, count(n), f.built.Round(100*time.Millisecond)))
		e.logf("built the %s dataset of %s tokens in %s", backend, count(n), f.built.Round(time.Millisecond))
		return f, nil
	})
}

// buildTimes describes the datasets built.
func (e *env) buildTimes() string {
	if len(e.builds) == 0 {
		return ""
	}
	return "; built: " + strings.Join(e.builds, ", ")
}

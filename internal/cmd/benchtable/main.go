// Command benchtable measures the rows of patkit's performance goals in
// one run and prints them as a Markdown table, each with its reference
// (the physical floor, the bare net/http ceiling, or the same measurement
// on a small dataset), the ratio the goal is stated in, the goal, and
// whether it is met, under the date, Go version, CPU model and core
// count.
//
//	go run ./internal/cmd/benchtable                      # every row, about eight minutes
//	go run ./internal/cmd/benchtable -quick               # small sizes, 2 s loads: a smoke run
//	go run ./internal/cmd/benchtable -rows 'list|auth'    # the rows whose name matches
//
// Three kinds of rows:
//
//   - Go benchmarks run in process with testing.Benchmark: rejecting a
//     malformed secret and authenticating a cached token on memstore,
//     against the floor (one SHA-256 of the secret, plus one map lookup);
//     authentication with the cache off, list pages and durable writes on
//     sqlitestore and pgstore.
//   - HTTP loads from a Go load generator (N keep-alive connections, each
//     writing a prepared request and reading the answer off the wire, as
//     wrk does; a fixed duration after a warm-up, counting requests and
//     errors) on 127.0.0.1 against examples/server, built from this
//     checkout and run in a process of its own on the large dataset with
//     its defaults (one log line a request, at INFO; GitLab's
//     failed-authentication ban, off only for the rows of an unknown
//     token), and against a bare net/http handler that checks a static
//     header and writes a small JSON body, the ceiling, in another (this
//     command with -serve-bare). The sequential creates and revokes go
//     the same way, one request at a time on one connection. The load
//     generator shares the machine's cores with the servers, as wrk on
//     the same machine would. The last-used rows count the Store's
//     writes, so they serve the API (httpapi, logging at Warn) from this
//     process.
//   - Datasets of 1,000,000 tokens (-tokens) shaped like a large instance
//     (see dataset), and 1,000 (-small) for the ratios, built in bulk: one
//     transaction through a prepared statement into a SQLite file kept in a
//     temporary directory for the run, and COPY into a schema of its own
//     that pgstore.Open migrates, dropped at the end.
//
// PostgreSQL rows run when -pg (default $PATKIT_TEST_POSTGRES_DSN) names a
// database, and are listed as skipped otherwise. Progress goes to stderr,
// the table to stdout. The exit status is 1 if a row failed to measure;
// a goal not met is a row like any other.
//
// -serve-bare ADDR measures nothing: it serves the bare handler on ADDR
// until interrupted, the ceiling for a load generator of your own (wrk
// against examples/server, say) on the same machine.
//
// -send URL measures nothing either: it sends -send-n GET requests to URL
// one at a time on one keep-alive connection, as the load generator
// writes them, with the token in -token-file as PRIVATE-TOKEN, and prints
// the statuses they got. callgrind.sh, beside this file, runs a server
// under valgrind's callgrind around it, to count the instructions a
// request costs the server (see docs/performance.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/patkit/patkit/internal/benchhttp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

// config is what the flags set.
type config struct {
	quick     bool
	rows      *regexp.Regexp
	pgDSN     string
	duration  time.Duration // of each HTTP load
	warmup    time.Duration // before each HTTP load
	benchtime time.Duration // of each Go benchmark
	tokens    int           // the large dataset
	small     int           // the small dataset of the ratios
	keep      bool          // -keep
	profile   string        // -cpuprofile
	serveBare string        // -serve-bare: serve the bare handler there, measure nothing
	send      string        // -send: send requests there, measure nothing
	sendN     int           // -send-n
	tokenFile string        // -token-file
	shown     string        // the flags given, less -pg's DSN
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fl := flag.NewFlagSet("benchtable", flag.ContinueOnError)
	fl.SetOutput(stderr)
	quick := fl.Bool("quick", false, "a smoke run: 10,000 tokens, 2 s loads, 100 ms benchmarks (flags given explicitly win)")
	rows := fl.String("rows", "", "a regexp: measure only the rows whose name matches")
	pg := fl.String("pg", os.Getenv("PATKIT_TEST_POSTGRES_DSN"), "PostgreSQL DSN; empty skips the PostgreSQL rows (default $PATKIT_TEST_POSTGRES_DSN)")
	duration := fl.Duration("duration", 10*time.Second, "length of each HTTP load")
	benchtime := fl.Duration("benchtime", time.Second, "length of each Go benchmark (testing's -benchtime)")
	tokens := fl.Int("tokens", 1_000_000, "tokens in the large dataset")
	small := fl.Int("small", 1_000, "tokens in the small dataset the ratios compare with")
	keep := fl.Bool("keep", false, "leave the datasets (SQLite files, PostgreSQL schemas) in place, for EXPLAIN and profiles, and print where they are")
	profile := fl.String("cpuprofile", "", "write a CPU profile of the whole run (datasets built included) to this file")
	serveBare := fl.String("serve-bare", "", "serve the bare handler on this address (e.g. 127.0.0.1:8081) until interrupted, and measure nothing: the ceiling for a load generator of your own")
	send := fl.String("send", "", "send -send-n GET requests to this URL one at a time on one keep-alive connection, and measure nothing: for callgrind.sh")
	sendN := fl.Int("send-n", 1000, "how many requests -send sends")
	tokenFile := fl.String("token-file", "", "file holding the token -send sends as PRIVATE-TOKEN")
	if err := fl.Parse(args); err != nil {
		return nil, err
	}
	if fl.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fl.Args())
	}
	set := make(map[string]bool)
	var shown strings.Builder
	fl.Visit(func(f *flag.Flag) {
		set[f.Name] = true
		switch {
		case f.Name == "pg" && f.Value.String() == "":
			shown.WriteString(` -pg ""`)
		case f.Name == "pg":
			shown.WriteString(" -pg <DSN>")
		case f.Name == "quick":
			shown.WriteString(" -quick")
		default:
			fmt.Fprintf(&shown, " -%s '%s'", f.Name, f.Value)
		}
	})
	c := &config{quick: *quick, pgDSN: *pg, duration: *duration, benchtime: *benchtime, tokens: *tokens, small: *small, keep: *keep, profile: *profile, serveBare: *serveBare, send: *send, sendN: *sendN, tokenFile: *tokenFile, shown: shown.String()}
	if c.quick {
		if !set["duration"] {
			c.duration = 2 * time.Second
		}
		if !set["benchtime"] {
			c.benchtime = 100 * time.Millisecond
		}
		if !set["tokens"] {
			c.tokens = 10_000
		}
	}
	var err error
	if c.rows, err = regexp.Compile(*rows); err != nil {
		return nil, fmt.Errorf("-rows: %w", err)
	}
	if c.duration <= 0 || c.benchtime <= 0 {
		return nil, errors.New("-duration and -benchtime must be positive")
	}
	if c.tokens < 1000 || c.small < 100 {
		return nil, errors.New("-tokens must be at least 1000 and -small at least 100")
	}
	c.warmup = min(c.duration/10, time.Second)
	return c, nil
}

// run measures the rows args select and writes the table to stdout,
// progress to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if cfg.serveBare != "" {
		return serveBare(ctx, cfg.serveBare, stderr)
	}
	if cfg.send != "" {
		return sendRequests(cfg, stderr)
	}
	testing.Init()
	if err := flag.Set("test.benchtime", cfg.benchtime.String()); err != nil {
		return err
	}
	if cfg.profile != "" {
		f, err := os.Create(cfg.profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	e, err := newEnv(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := e.close(); cerr != nil {
			fmt.Fprintln(stderr, "benchtable: cleanup:", cerr)
		}
	}()

	start := time.Now()
	loadStart := loadAverage()
	var done []measured
	var failed []string
	for _, r := range allRows(cfg) {
		if !cfg.rows.MatchString(r.id) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		m := measured{row: r}
		switch {
		case r.pg && cfg.pgDSN == "":
			m.skip = "skipped: no -pg DSN"
		default:
			e.logf("%s ...", r.id)
			t := time.Now()
			m.res, m.err = r.run(e)
			if m.err != nil {
				failed = append(failed, r.id)
				e.logf("%s: error: %v", r.id, m.err)
			} else {
				e.logf("%s: %s (%s)", r.id, m.res.measured, time.Since(t).Round(time.Millisecond))
			}
		}
		done = append(done, m)
	}
	if len(done) == 0 {
		return fmt.Errorf("-rows %q matches no row", cfg.rows)
	}
	writeTable(stdout, cfg, e, done, start, loadStart, loadAverage())
	if len(failed) > 0 {
		return fmt.Errorf("%d rows failed: %s", len(failed), strings.Join(failed, ", "))
	}
	return nil
}

// row is one line of the table.
type row struct {
	id   string // what -rows matches
	what string
	goal string
	pg   bool // needs PostgreSQL
	run  func(e *env) (result, error)
}

// result is what a row measured.
type result struct {
	measured  string
	reference string
	ratio     string
	met       *bool // nil: the row has no goal (a ceiling)
}

type measured struct {
	row
	res  result
	err  error
	skip string
}

func writeTable(w io.Writer, cfg *config, e *env, rows []measured, start time.Time, load0, load1 string) {
	fmt.Fprintf(w, "Measured by `go run ./internal/cmd/benchtable%s` on %s.\n\n", cfg.shown, start.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "- Go: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "- CPU: %s, %d cores (GOMAXPROCS %d)\n", cpuModel(), runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Fprintf(w, "- load average: %s at the start, %s at the end; run took %s\n", load0, load1, time.Since(start).Round(time.Second))
	fmt.Fprintf(w, "- SQLite files in %s (TMPDIR): durable writes are as durable as its file system\n", filepath.Dir(e.tmp))
	fmt.Fprintf(w, "- datasets: %s tokens (%s users) and %s%s\n", count(cfg.tokens), count(newDataset(cfg.tokens, start).users), count(cfg.small), e.buildTimes())
	fmt.Fprintf(w, "- Go rows: testing.Benchmark, %s each; HTTP rows: Go load generator (prepared requests, keep-alive), on 127.0.0.1, %s per load after %s of warm-up, against examples/server and the bare handler each in a process of its own\n",
		cfg.benchtime, cfg.duration, cfg.warmup)
	if cfg.quick {
		fmt.Fprintf(w, "- **quick run**: small sizes and short loads, a smoke test; the goals are stated for the full run\n")
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| row | what | measured | reference | ratio | goal | met |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, m := range rows {
		cells := []string{"`" + m.id + "`", m.what, m.res.measured, m.res.reference, m.res.ratio, m.goal, "–"}
		switch {
		case m.skip != "":
			cells[2], cells[3], cells[4] = m.skip, "", ""
		case m.err != nil:
			cells[2], cells[3], cells[4] = "error: "+m.err.Error(), "", ""
		case m.res.met != nil && *m.res.met:
			cells[6] = "yes"
		case m.res.met != nil:
			cells[6] = "**no**"
		}
		for i, c := range cells {
			cells[i] = strings.ReplaceAll(strings.ReplaceAll(c, "|", `\|`), "\n", " ")
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
}

// cpuModel returns the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// loadAverage returns the 1, 5 and 15 minute load averages.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// count formats n with thousands separators.
func count(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// dur formats a time per operation in ns.
func dur(ns float64) string {
	switch {
	case ns < 1e3:
		return fmt.Sprintf("%.0f ns", ns)
	case ns < 1e4:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	case ns < 1e6:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	case ns < 1e7:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	default:
		return fmt.Sprintf("%.1f ms", ns/1e6)
	}
}

// rate formats operations per second.
func rate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2f M/s", r/1e6)
	case r >= 1e4:
		return fmt.Sprintf("%.1fk/s", r/1e3)
	case r >= 1e3:
		return fmt.Sprintf("%.2fk/s", r/1e3)
	default:
		return fmt.Sprintf("%.0f/s", r)
	}
}

// sendRequests sends cfg.sendN GET requests to cfg.send, one at a time
// on one keep-alive connection, and prints how many got each status.
func sendRequests(cfg *config, stderr io.Writer) error {
	r, err := http.NewRequest("GET", cfg.send, nil)
	if err != nil {
		return err
	}
	if cfg.tokenFile != "" {
		b, err := os.ReadFile(cfg.tokenFile)
		if err != nil {
			return err
		}
		r.Header.Set("PRIVATE-TOKEN", strings.TrimSpace(string(b)))
	}
	w, err := newWireConn(r)
	if err != nil {
		return err
	}
	defer w.close()
	codes := make(map[int]int)
	for range cfg.sendN {
		code, err := w.do()
		if err != nil {
			return err
		}
		codes[code]++
	}
	fmt.Fprintf(stderr, "%d requests to %s: %v\n", cfg.sendN, cfg.send, codes)
	return nil
}

// serveBare serves the bare handler of the HTTP rows on addr, with
// examples/server's http.Server settings, until ctx ends.
func serveBare(ctx context.Context, addr string, stderr io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := benchhttp.Server(benchhttp.Bare())
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	fmt.Fprintf(stderr, "bare handler on http://%s/: 200 with the header PRIVATE-TOKEN: %s, 401 without it\n", ln.Addr(), benchhttp.BareToken)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

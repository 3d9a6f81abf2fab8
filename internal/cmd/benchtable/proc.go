package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"time"
)

// exampleServerPkg is the server the HTTP rows load.
const exampleServerPkg = "github.com/patkit/patkit/examples/server"

// process is a server of the run in a process of its own, as a server
// and wrk are: examples/server on a dataset, or this command serving the
// bare handler. Its stderr is drained, its first and last lines kept for
// the error of a server that fails.
type process struct {
	url    string // http://127.0.0.1:port
	cmd    *exec.Cmd
	stderr *headTail
	exited chan struct{} // closed once the process has exited
	err    error         // of Wait, once exited is closed
}

// startProcess runs name with args and waits until a line of its stderr
// matches ready, whose first group is the address it serves on.
func (e *env) startProcess(ready *regexp.Regexp, name string, args ...string) (*process, error) {
	p := &process{cmd: exec.Command(name, args...), stderr: &headTail{}, exited: make(chan struct{})}
	p.cmd.Stderr = p.stderr
	dieWithParent(p.cmd)
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	e.onClose(p.stop)
	deadline := time.Now().Add(time.Minute)
	for {
		if m := ready.FindSubmatch(p.stderr.head()); m != nil {
			p.url = "http://" + string(m[1])
			return p, nil
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("%s exited (%v) before it served:\n%s", filepath.Base(name), p.err, p.stderr)
		case <-e.ctx.Done():
			return nil, e.ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s did not serve within a minute:\n%s", filepath.Base(name), p.stderr)
		}
	}
}

// stop interrupts the process, as Ctrl-C would, and kills it if it has
// not exited 15 s later. A process that exited on its own, before, is an
// error.
func (p *process) stop() error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s exited during the run (%v):\n%s", filepath.Base(p.cmd.Path), p.err, p.stderr)
	default:
	}
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
		var ee *exec.ExitError
		if errors.As(p.err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled() {
			return nil
		}
		return p.err
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("%s did not stop within 15 s of an interrupt", filepath.Base(p.cmd.Path))
	}
}

// headTail keeps the first and the last headTailSize bytes written to it
// and drops the rest: a busy server's one line a request goes nowhere.
type headTail struct {
	mu    sync.Mutex
	first []byte
	last  []byte
	more  bool // bytes were dropped between first and last
}

const headTailSize = 16 << 10

func (h *headTail) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := len(p)
	if room := headTailSize - len(h.first); room > 0 {
		k := min(room, len(p))
		h.first = append(h.first, p[:k]...)
		p = p[k:]
	}
	h.last = append(h.last, p...)
	if over := len(h.last) - headTailSize; over > 0 {
		h.last = append(h.last[:0], h.last[over:]...)
		h.more = true
	}
	return n, nil
}

// head returns a copy of the first bytes written.
func (h *headTail) head() []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]byte(nil), h.first...)
}

func (h *headTail) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.more {
		return string(h.first) + "\n[…]\n" + string(h.last)
	}
	return string(h.first) + string(h.last)
}

// exampleBinary builds examples/server from this module, once.
func (e *env) exampleBinary() (string, error) {
	return memo(e, "examples/server binary", func() (string, error) {
		bin := filepath.Join(e.tmp, "examples-server")
		cmd := exec.CommandContext(e.ctx, "go", "build", "-o", bin, exampleServerPkg)
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("go build %s (run benchtable from this repository): %v\n%s", exampleServerPkg, err, out)
		}
		return bin, nil
	})
}

var (
	exampleListening = regexp.MustCompile(`msg=listening addr=(\S+)`)
	bareListening    = regexp.MustCompile(`bare handler on http://(\S+)/`)
)

// exampleServer is examples/server in a process of its own on the large
// dataset of backend: its defaults (one log line a request at INFO, the
// failed-authentication ban of GitLab), but for the flags that give it
// the dataset's database, instance key and root token, and with throttle
// false the ban off (-failed-auth-limit 0), for the rows that present an
// unknown token from one address: with it, every request after the 30th
// would be answered 429 before the token is looked at.
//
// examples/server's directory knows users 1 (root, whose token the
// dataset holds as the server's bootstrap token), 2 and 3: the rows use
// root's token, and create tokens for user 2.
func (e *env) exampleServer(backend string, throttle bool) (*example, error) {
	return memo(e, fmt.Sprintf("examples/server/%s/%v", backend, throttle), func() (*example, error) {
		f, err := e.fixture(backend, e.cfg.tokens)
		if err != nil {
			return nil, err
		}
		bin, err := e.exampleBinary()
		if err != nil {
			return nil, err
		}
		keyFile, rootFile := filepath.Join(e.tmp, "benchtable.key"), filepath.Join(e.tmp, "root.token")
		if err := os.WriteFile(keyFile, benchKey, 0o600); err != nil {
			return nil, err
		}
		if err := os.WriteFile(rootFile, []byte(f.d.root.Secret+"\n"), 0o600); err != nil {
			return nil, err
		}
		args := []string{"-addr", "127.0.0.1:0", "-db", f.db, "-key-file", keyFile, "-root-token-file", rootFile}
		if f.schema != "" {
			args = append(args, "-schema", f.schema)
		}
		if !throttle {
			args = append(args, "-failed-auth-limit", "0")
		}
		p, err := e.startProcess(exampleListening, bin, args...)
		if err != nil {
			return nil, err
		}
		return &example{url: p.url, d: f.d}, nil
	})
}

// bareServer is the bare handler in a process of its own: this command
// with -serve-bare.
func (e *env) bareServer() (*httpServer, error) {
	return memo(e, "bare", func() (*httpServer, error) {
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		p, err := e.startProcess(bareListening, self, "-serve-bare", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		return &httpServer{url: p.url}, nil
	})
}

// example is examples/server serving a dataset.
type example struct {
	url string
	d   *dataset
}

// exampleUser is a user of examples/server's directory other than root
// (alice), for whom the create row makes tokens.
const exampleUser = 2

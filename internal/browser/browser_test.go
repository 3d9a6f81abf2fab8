package browser

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var shots = flag.String("screenshots", os.Getenv("PATKIT_SCREENSHOTS"), "directory the screenshots of the pages are written to (default: a temporary one)")

// chromium returns the browser to drive, or skips the test without one
// unless PATKIT_REQUIRE_BROWSER=1.
func chromium(t *testing.T) string {
	path := os.Getenv("PATKIT_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("PATKIT_REQUIRE_BROWSER") == "1" {
			t.Fatalf("PATKIT_REQUIRE_BROWSER=1 but there is no browser at %s: %v", path, err)
		}
		t.Skipf("no browser at %s (install Debian's chromium, or set PATKIT_CHROMIUM)", path)
	}
	return path
}

// exampleServer builds and starts examples/server, the composition the
// README tells people to run, on a free port with its files in a
// temporary directory, and returns its URL and its log.
func exampleServer(t *testing.T) (string, *os.File) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "server")
	build := exec.Command("go", "build", "-o", bin, "./examples/server")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build examples/server: %v\n%s", err, out)
	}
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-db", filepath.Join(dir, "patkit.db"),
		"-root-token-file", filepath.Join(dir, "root.token"))
	pr, pw, _ := os.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
	})
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg=listening addr=(\S+)`)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			logf.WriteString(sc.Text() + "\n")
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case a := <-addr:
		return "http://" + a, logf
	case <-time.After(30 * time.Second):
		t.Fatal("examples/server did not start")
	}
	return "", nil
}

// tab is a browser tab and what the test keeps of it.
type tab struct {
	t      *testing.T
	ctx    context.Context
	base   string
	shots  string
	mu     sync.Mutex
	errors []string // CSP violations and script exceptions
}

// run runs steps with a timeout, failing the test on error.
func (b *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// value runs one action that returns a value.
func value[T any](b *tab, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// visit navigates and returns the status of the page.
func (b *tab) visit(path string) int64 {
	b.t.Helper()
	resp := value(b, "open "+path, chromedp.NavigateResponse(b.base+path))
	return resp.Status
}

// submit clicks a button that sends a form and returns the status of the
// page it leads to.
func (b *tab) submit(css string) int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(css)))
	if err != nil {
		b.t.Fatalf("click %s: %v", css, err)
	}
	return resp.Status
}

func (b *tab) text(css string) string {
	b.t.Helper()
	return value(b, "read "+css, chromedp.Text(chromedp.CSS(css)))
}

// screenshot writes the current page at desktop (1280) and phone (390)
// widths, as PNG, without reloading it (a page showing a new secret is
// the answer to a POST).
func (b *tab) screenshot(name string) {
	b.t.Helper()
	// Every control has a name a screen reader can say.
	unnamed := value(b, "labels", chromedp.Evaluate[[]string](`[...document.querySelectorAll("input:not([type=hidden]), select, textarea, button, a")]
		.filter(e => !(e.labels && e.labels.length) && !e.getAttribute("aria-label") && !e.textContent.trim())
		.map(e => e.outerHTML)`))
	if len(unnamed) > 0 {
		b.t.Errorf("%s: controls without a name: %v", name, unnamed)
	}
	for _, vp := range []struct {
		w, h int64
		size string
		opts []chromedp.EmulateViewportOption
	}{
		{390, 844, "phone", []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulateTouch}},
		{1280, 800, "desktop", nil},
	} {
		b.do("viewport", chromedp.EmulateViewport(vp.w, vp.h, vp.opts...))
		// Nothing sticks out sideways, at either width.
		if w := value(b, "width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > int(vp.w) {
			b.t.Errorf("%s %s: the page is %d pixels wide in a %d-pixel viewport", name, vp.size, w, vp.w)
		}
		raw := value(b, "screenshot", chromedp.FullScreenshot(100))
		img, err := png.Decode(bytes.NewReader(raw))
		if err != nil {
			b.t.Fatal(err)
		}
		if got := img.Bounds().Dx(); got != int(vp.w) {
			b.t.Errorf("%s %s: %d pixels wide, want %d", name, vp.size, got, vp.w)
		}
		var out bytes.Buffer
		enc := png.Encoder{CompressionLevel: png.BestCompression}
		if err := enc.Encode(&out, shrink(img)); err != nil {
			b.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(b.shots, name+"-"+vp.size+".png"), out.Bytes(), 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
}

// shrink maps an image to a palette of its 256 most frequent colours,
// each pixel to the nearest of them: flat pages lose next to nothing and
// their PNG files shrink severalfold.
func shrink(img image.Image) image.Image {
	b := img.Bounds()
	count := map[color.RGBA]int{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			count[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	cols := slices.Collect(maps.Keys(count))
	slices.SortFunc(cols, func(a, b color.RGBA) int {
		if c := count[b] - count[a]; c != 0 {
			return c
		}
		return int(a.R)<<16 | int(a.G)<<8 | int(a.B) - (int(b.R)<<16 | int(b.G)<<8 | int(b.B))
	})
	pal := make(color.Palette, 0, 256)
	for _, c := range cols[:min(256, len(cols))] {
		pal = append(pal, c)
	}
	out := image.NewPaletted(b, pal)
	index := map[color.RGBA]uint8{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			i, ok := index[c]
			if !ok {
				i = uint8(pal.Index(c))
				index[c] = i
			}
			out.SetColorIndex(x, y, i)
		}
	}
	return out
}

// api calls the example server's API with a token and returns the status
// and the decoded body.
func api(t *testing.T, base, path, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v4"+path, nil)
	req.Header.Set("PRIVATE-TOKEN", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

var secretRE = regexp.MustCompile(`glpat-[A-Za-z0-9_-]{27}[0-9a-z]{7}`)

// TestBrowser walks through the product as a person does, in headless
// Chromium: sign in as alice, create a token with two scopes, read its
// secret once, use it against the API, rotate it, revoke it, find it
// among the inactive tokens; create a project token as Maintainer without
// being offered Owner; bob cannot see the project's page; root's
// inventory. It writes a screenshot of each page at desktop and phone
// widths.
func TestBrowser(t *testing.T) {
	exe := chromium(t)
	start := time.Now()
	base, serverLog := exampleServer(t)
	dir := *shots
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}

	actx, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	b := &tab{t: t, ctx: ctx, base: base, shots: dir}
	if err := chromedp.Do(ctx); err != nil { // starts the browser, with no timeout
		t.Fatalf("start %s: %v", exe, err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if s := m.String(); m.IsException() || strings.Contains(s, "Content Security Policy") || strings.Contains(s, "Content-Security-Policy") {
				b.mu.Lock()
				b.errors = append(b.errors, s)
				b.mu.Unlock()
			}
		}
	}()
	t.Logf("browser up in %v", time.Since(start).Round(time.Millisecond))

	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, func(t *testing.T) { b.t = t; f(t) }) {
			t.FailNow() // the steps build on each other
		}
	}
	var secret, rotated string

	step("sign in as alice", func(t *testing.T) {
		if st := b.visit("/"); st != http.StatusOK {
			t.Fatalf("/ leads to %d", st)
		}
		if h := b.text("h1"); h != "Demo sign-in" {
			t.Fatalf("not signed in, / shows %q", h)
		}
		b.screenshot("signin")
		if st := b.submit(`button[value="alice"]`); st != http.StatusOK {
			t.Fatalf("sign-in leads to %d", st)
		}
		if who := b.text(".who"); who != "Signed in as alice" {
			t.Fatalf("header says %q", who)
		}
		// The style sheet applies (the CSP lets the page's own file in).
		bg := value(b, "style", chromedp.Evaluate[string](`getComputedStyle(document.querySelector("header.top")).backgroundColor`))
		if bg != "rgb(40, 39, 45)" {
			t.Errorf("header background %q: the style sheet did not load", bg)
		}
		b.screenshot("personal")
	})

	step("a bad form keeps what was typed", func(t *testing.T) {
		b.do("fill", chromedp.SendKeys(chromedp.CSS("#description"), "typed but no name"),
			chromedp.Click(chromedp.CSS("#scope-read_api")))
		if st := b.submit(`.create button[type=submit]`); st != http.StatusUnprocessableEntity {
			t.Fatalf("status %d", st)
		}
		if msg := b.text("#err-name"); msg != "Name can't be blank" {
			t.Errorf("name error %q", msg)
		}
		if v := value(b, "description", chromedp.Value(chromedp.CSS("#description"))); v != "typed but no name" {
			t.Errorf("description now %q", v)
		}
		if on := value(b, "checkbox", chromedp.Evaluate[bool](`document.getElementById("scope-read_api").checked`)); !on {
			t.Error("the checked scope was lost")
		}
		b.screenshot("form-errors")
	})

	step("create a token with two scopes and read the secret once", func(t *testing.T) {
		b.visit("/-/user_settings/personal_access_tokens")
		b.do("fill",
			chromedp.SendKeys(chromedp.CSS("#name"), "laptop"),
			chromedp.SendKeys(chromedp.CSS("#description"), "alice's laptop"),
			chromedp.Click(chromedp.CSS("#scope-read_api")),
			chromedp.Click(chromedp.CSS("#scope-read_user")),
		)
		if st := b.submit(`.create button[type=submit]`); st != http.StatusOK {
			t.Fatalf("create: %d", st)
		}
		secret = value(b, "secret", chromedp.Value(chromedp.CSS("#new-token")))
		if !secretRE.MatchString(secret) {
			t.Fatalf("secret %q", secret)
		}
		loc := value(b, "location", chromedp.Location())
		if strings.Contains(loc, secret) || strings.Contains(loc, "glpat-") {
			t.Errorf("secret in the URL %s", loc)
		}
		// The copy button is there (the script ran under the CSP) and
		// works from the keyboard.
		b.do("copy", chromedp.WaitVisible(chromedp.CSS(`button[data-copy]`)), chromedp.Focus(chromedp.CSS(`button[data-copy]`)),
			chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.CSS(".copied")))
		if s := b.text(".copied"); s != "Token copied to the clipboard." {
			t.Errorf("copy status %q", s)
		}
		b.screenshot("created")
		// Shown once: the list does not show it again.
		b.visit("/-/user_settings/personal_access_tokens")
		html := value(b, "html", chromedp.Evaluate[string](`document.documentElement.outerHTML`))
		if strings.Contains(html, secret) || secretRE.MatchString(html) {
			t.Error("the list shows the secret again")
		}
		if !strings.Contains(html, "laptop") {
			t.Error("the list lacks the new token")
		}
	})

	step("use it against the API", func(t *testing.T) {
		st, body := api(t, base, "/user", secret)
		if st != http.StatusOK || body["username"] != "alice" {
			t.Fatalf("GET /user: %d %v", st, body)
		}
		st, body = api(t, base, "/personal_access_tokens/self", secret)
		if st != http.StatusOK || body["name"] != "laptop" || fmt.Sprint(body["scopes"]) != "[read_api read_user]" {
			t.Fatalf("GET /personal_access_tokens/self: %d %v", st, body)
		}
	})

	step("rotate it", func(t *testing.T) {
		b.visit("/-/user_settings/personal_access_tokens")
		if st := b.submit(`a[aria-label="Rotate laptop"]`); st != http.StatusOK {
			t.Fatalf("confirm page: %d", st)
		}
		if h := b.text("h1"); h != "Rotate laptop?" {
			t.Fatalf("confirm page %q", h)
		}
		b.screenshot("confirm-rotate")
		if st := b.submit(`form.actions button[type=submit]`); st != http.StatusOK {
			t.Fatalf("rotate: %d", st)
		}
		rotated = value(b, "secret", chromedp.Value(chromedp.CSS("#new-token")))
		if rotated == secret || !secretRE.MatchString(rotated) {
			t.Fatalf("rotated secret %q", rotated)
		}
		if st, _ := api(t, base, "/user", secret); st != http.StatusUnauthorized {
			t.Errorf("the old secret answers %d", st)
		}
		if st, _ := api(t, base, "/user", rotated); st != http.StatusOK {
			t.Errorf("the new secret answers %d", st)
		}
	})

	step("revoke it and find it under inactive", func(t *testing.T) {
		b.visit("/-/user_settings/personal_access_tokens")
		b.submit(`a[aria-label="Revoke laptop"]`)
		b.screenshot("confirm-revoke")
		if st := b.submit(`form.actions button[type=submit]`); st != http.StatusOK {
			t.Fatalf("revoke: %d", st)
		}
		if n := b.text(".notice"); n != "The token was revoked." {
			t.Errorf("notice %q", n)
		}
		if st, _ := api(t, base, "/user", rotated); st != http.StatusUnauthorized {
			t.Errorf("the revoked secret answers %d", st)
		}
		active := b.text("#active-h")
		inactive := value(b, "inactive", chromedp.Text(chromedp.CSS(`section[aria-labelledby="inactive-h"]`)))
		rows := value(b, "rows", chromedp.Evaluate[int](`document.querySelectorAll('section[aria-labelledby="inactive-h"] tbody tr').length`))
		if !strings.Contains(active, "(0)") || rows != 2 || !strings.Contains(inactive, "laptop") || !strings.Contains(inactive, "revoked") {
			t.Errorf("active %q; inactive %q", active, inactive)
		}
		b.screenshot("inactive")
	})

	step("alice creates a project token as Maintainer but cannot choose Owner", func(t *testing.T) {
		if st := b.visit("/acme/widgets/-/settings/access_tokens"); st != http.StatusOK {
			t.Fatalf("project page: %d", st)
		}
		roles := value(b, "roles", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#access_level option")].map(o => o.textContent)`))
		if !slices.Contains(roles, "Maintainer") || slices.Contains(roles, "Owner") {
			t.Fatalf("roles offered: %v", roles)
		}
		b.do("fill",
			chromedp.SendKeys(chromedp.CSS("#name"), "deploy"),
			chromedp.Click(chromedp.CSS("#scope-read_repository")),
			chromedp.SetValue(chromedp.CSS("#access_level"), "40"),
		)
		if st := b.submit(`.create button[type=submit]`); st != http.StatusOK {
			t.Fatalf("create: %d", st)
		}
		s := value(b, "secret", chromedp.Value(chromedp.CSS("#new-token")))
		if st, body := api(t, base, "/personal_access_tokens/self", s); st != http.StatusOK || body["name"] != "deploy" {
			t.Errorf("project token: %d %v", st, body)
		}
		if role := b.text(`section[aria-labelledby="active-h"] td[data-label="Role"]`); role != "Maintainer" {
			t.Errorf("role %q", role)
		}
		b.screenshot("project")
		b.visit("/groups/acme/-/settings/access_tokens")
		b.screenshot("group")
	})

	step("bob cannot see the project's page", func(t *testing.T) {
		b.submit(`form[action="/-/demo/sign_out"] button`)
		b.submit(`button[value="bob"]`)
		if st := b.visit("/acme/widgets/-/settings/access_tokens"); st != http.StatusNotFound {
			t.Errorf("bob gets %d", st)
		}
		if h := b.text("h1"); h != "Not found" {
			t.Errorf("bob sees %q", h)
		}
		b.screenshot("not-found")
	})

	step("root's credentials inventory", func(t *testing.T) {
		b.submit(`form[action="/-/demo/sign_out"] button`)
		b.submit(`button[value="root"]`)
		if st := b.visit("/admin/credentials?state=all"); st != http.StatusOK {
			t.Fatalf("inventory: %d", st)
		}
		rows := value(b, "rows", chromedp.Evaluate[int](`document.querySelectorAll("table.tokens tbody tr").length`))
		if rows < 4 { // root's bootstrap token, laptop twice, deploy
			t.Errorf("%d rows", rows)
		}
		b.screenshot("admin")
	})

	b.mu.Lock()
	if len(b.errors) > 0 {
		t.Errorf("the browser reported:\n%s", strings.Join(b.errors, "\n"))
	}
	b.mu.Unlock()
	logged, _ := os.ReadFile(serverLog.Name())
	if secretRE.Match(logged) {
		t.Errorf("a secret in the server's log:\n%s", logged)
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		t.Error("the browser went away")
	}
	t.Logf("walked through in %v; screenshots in %s", time.Since(start).Round(time.Millisecond), dir)
}

package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// glabSession matches the README's glab session: commands after "$ ",
// each followed by what it prints.
var glabSession = regexp.MustCompile("(?s)```console\n(\\$ glab auth login .*?)```")

// glabVarying matches what differs from run to run in glab's output:
// secrets, then times, then dates.
var glabVarying = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`glpat-[0-9A-Za-z_-]{20,}`), "glpat-SECRET"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`), "TIME"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\d`), "DATE"},
	{regexp.MustCompile(` +`), " "},
}

// normalizeGlab makes glab's output comparable across runs: varying values
// replaced, runs of spaces (table padding) made one, blank lines and
// trailing spaces dropped.
func normalizeGlab(out string) string {
	for _, v := range glabVarying {
		out = v.re.ReplaceAllString(out, v.with)
	}
	var lines []string
	for l := range strings.SplitSeq(out, "\n") {
		if l = strings.TrimRight(l, " "); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// TestGlab runs the README's glab session, command by command in one
// shell, against a fresh server, and checks that each command prints what
// the README shows, secrets, times and dates aside. It needs glab (on
// PATH, or PATKIT_GLAB); without it it is skipped, unless
// PATKIT_REQUIRE_GLAB is set, as CI sets it.
func TestGlab(t *testing.T) {
	glab := os.Getenv("PATKIT_GLAB")
	if glab == "" {
		glab, _ = exec.LookPath("glab")
	}
	if glab == "" {
		if os.Getenv("PATKIT_REQUIRE_GLAB") != "" {
			t.Fatal("glab is required (PATKIT_GLAB or PATH)")
		}
		t.Skip("no glab on PATH and no PATKIT_GLAB")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := glabSession.FindSubmatch(readme)
	if m == nil {
		t.Fatal("README: no console block beginning with glab auth login")
	}
	var cmds, want []string
	for l := range strings.SplitSeq(string(m[1]), "\n") {
		if c, ok := strings.CutPrefix(l, "$ "); ok {
			cmds, want = append(cmds, c), append(want, "")
		} else if len(want) > 0 {
			want[len(want)-1] += l + "\n"
		}
	}

	dir := t.TempDir()
	s := start(t, dir)
	addr := strings.TrimPrefix(s.url, "http://")
	const sep = "\n@@@patkit-glab-test@@@\n"
	var script strings.Builder
	for _, c := range cmds {
		script.WriteString("printf '" + strings.ReplaceAll(sep, "\n", `\n`) + "'\n")
		script.WriteString("{ " + strings.ReplaceAll(c, "127.0.0.1:8080", addr) + "\n} 2>&1\n")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
	cmd.Dir = dir // where root.token is
	cmd.Env = append(os.Environ(),
		"PATH="+filepath.Dir(glab)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOME="+dir, "GLAB_CONFIG_DIR="+filepath.Join(dir, "glab"), "NO_COLOR=1",
		"GIT_CONFIG_NOSYSTEM=1", "GITLAB_TOKEN=", "GITLAB_HOST=")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("glab session: %v\n%s", err, out)
	}
	got := strings.Split(string(out), sep)[1:]
	if len(got) != len(cmds) {
		t.Fatalf("%d outputs for %d commands:\n%s", len(got), len(cmds), out)
	}
	for i, c := range cmds {
		g := normalizeGlab(strings.ReplaceAll(got[i], addr, "127.0.0.1:8080"))
		if w := normalizeGlab(want[i]); g != w {
			t.Errorf("$ %s\nprinted\n%s\nthe README shows\n%s", c, g, w)
		}
	}
	if t.Failed() {
		t.Logf("server log:\n%s", s.stderr)
	}
}

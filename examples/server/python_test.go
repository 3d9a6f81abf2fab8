package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"
)

// readmeBlocks matches the python-gitlab snippet of the README and the
// output shown under it.
var readmeBlocks = regexp.MustCompile("(?s)```python\n(.*?)```\n\nprints\n\n```text\n(.*?)```")

// TestPythonGitlab runs the README's python-gitlab snippet, as written
// there, against the server and checks that it prints what the README
// says. It needs python3 with the gitlab module (Debian's python3-gitlab);
// without them it is skipped, unless PATKIT_REQUIRE_PYTHON_GITLAB is set,
// as CI sets it.
func TestPythonGitlab(t *testing.T) {
	python, err := pythonGitlab()
	if err != nil {
		if os.Getenv("PATKIT_REQUIRE_PYTHON_GITLAB") != "" {
			t.Fatalf("python3 with python-gitlab is required: %v", err)
		}
		t.Skipf("no python3 with python-gitlab: %v", err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := readmeBlocks.FindSubmatch(readme)
	if m == nil {
		t.Fatal("README: no python block followed by the output it prints")
	}
	script, want := m[1], m[2]

	dir := t.TempDir()
	s := start(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-")
	cmd.Dir = dir // where root.token is
	cmd.Env = append(os.Environ(), "GITLAB_URL="+s.url)
	cmd.Stdin = bytes.NewReader(script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("python-gitlab snippet: %v\n%s\nserver log:\n%s", err, stderr.String(), s.stderr)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the snippet printed\n%s\nthe README says\n%s", got, want)
	}
}

// pythonGitlab returns a python3 that imports gitlab: the first on PATH,
// or the system's (Debian's python3-gitlab installs there, and a PATH may
// lead to another Python first).
func pythonGitlab() (string, error) {
	var err error
	for _, name := range []string{"python3", "/usr/bin/python3"} {
		var path string
		if path, err = exec.LookPath(name); err != nil {
			continue
		}
		if err = exec.Command(path, "-c", "import gitlab").Run(); err == nil {
			return path, nil
		}
	}
	return "", err
}

package main_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/patkit/patkit/internal/pgtest"
)

// bin is the patkit binary TestMain builds: the tests run it as an
// operator would.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "patkit-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "patkit")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build patkit:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is one run of the binary.
type result struct {
	stdout, stderr string
	code           int
}

// backend is a database the binary runs against: its flags and
// environment.
type backend struct {
	name  string
	dir   string   // a temporary directory, for key and token files
	flags []string // database flags
	env   []string // extra environment
}

// run runs the binary with b's database and args, stdin as its standard
// input.
func (b *backend) run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, append(append([]string{}, b.flags...), args...)...)
	cmd.Dir = b.dir
	cmd.Env = append(os.Environ(), "PATKIT_DATABASE=", "PATKIT_KEY_FILE=")
	cmd.Env = append(cmd.Env, b.env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run patkit %q: %v", args, err)
	}
	return r
}

// ok runs the binary and fails t unless it exits 0.
func (b *backend) ok(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	r := b.run(t, stdin, args...)
	if r.code != 0 {
		t.Fatalf("patkit %q: exit %d\nstdout: %s\nstderr: %s", args, r.code, r.stdout, r.stderr)
	}
	return r
}

// fails runs the binary and fails t unless it exits code with one line
// on stderr containing want.
func (b *backend) fails(t *testing.T, code int, want, stdin string, args ...string) result {
	t.Helper()
	r := b.run(t, stdin, args...)
	if r.code != code || !strings.Contains(r.stderr, want) {
		t.Fatalf("patkit %q: exit %d, stderr %q; want exit %d and %q", args, r.code, r.stderr, code, want)
	}
	if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n > 0 {
		t.Errorf("patkit %q: %d lines on stderr, want one:\n%s", args, n+1, r.stderr)
	}
	return r
}

// okJSON runs the binary with --json and decodes its output into v.
func (b *backend) okJSON(t *testing.T, v any, stdin string, args ...string) result {
	t.Helper()
	r := b.ok(t, stdin, append(args, "--json")...)
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("patkit %q --json: %v\n%s", args, err, r.stdout)
	}
	return r
}

func sqliteBackend(t *testing.T) *backend {
	dir := t.TempDir()
	return &backend{name: "sqlite", dir: dir, flags: []string{"--sqlite", filepath.Join(dir, "patkit.db")}}
}

// postgresBackend is a fresh schema of the test database, dropped when t
// ends. The DSN goes through PATKIT_DATABASE, as the CLI recommends.
func postgresBackend(t *testing.T) *backend {
	dsn := os.Getenv("PATKIT_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("PATKIT_TEST_POSTGRES_DSN is not set")
	}
	schema := "patkit_cli_" + strings.ToLower(rand.Text()[:12])
	pgtest.DropSchemaAtEnd(t, dsn, schema)
	dir := t.TempDir()
	return &backend{name: "postgres", dir: dir,
		flags: []string{"--schema", schema, "--key-file", filepath.Join(dir, "patkit.key")},
		env:   []string{"PATKIT_DATABASE=" + dsn}}
}

// eachBackend runs f on SQLite and on PostgreSQL.
func eachBackend(t *testing.T, f func(t *testing.T, b *backend)) {
	t.Run("sqlite", func(t *testing.T) { f(t, sqliteBackend(t)) })
	t.Run("postgres", func(t *testing.T) { f(t, postgresBackend(t)) })
}

type token struct {
	ID          int64    `json:"id"`
	Kind        string   `json:"kind"`
	UserID      int64    `json:"user_id"`
	ResourceID  int64    `json:"resource_id"`
	AccessLevel int      `json:"access_level"`
	Name        string   `json:"name"`
	Scopes      []string `json:"scopes"`
	State       string   `json:"state"`
	Revoked     bool     `json:"revoked"`
	ExpiresAt   *string  `json:"expires_at"`
	PreviousID  int64    `json:"previous_id"`
	Token       string   `json:"token"`
}

type page struct {
	Tokens []token `json:"tokens"`
	Total  int     `json:"total"`
}

var secretShape = regexp.MustCompile(`glpat-[A-Za-z0-9_-]{20,}`)

// The whole life of tokens through the binary: bootstrap, create, list,
// show, identify by secret, rotate, revoke, revoke by secret. Secrets
// appear in the output of the command that created them, and nowhere
// else.
func TestTokenLifecycle(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		var outputs []string // every output but create's and rotate's
		keep := func(r result) result { outputs = append(outputs, r.stdout, r.stderr); return r }

		keep(b.ok(t, "", "migrate"))
		r := keep(b.ok(t, "", "bootstrap", "--out", "root.token"))
		if !strings.Contains(r.stdout, "wrote a new bootstrap token of user 1 to root.token") {
			t.Errorf("bootstrap: %q", r.stdout)
		}
		rootFile := filepath.Join(b.dir, "root.token")
		fi, err := os.Stat(rootFile)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("root token file: %v, %v", fi, err)
		}
		rootSecret, _ := os.ReadFile(rootFile)
		if !secretShape.Match(rootSecret) {
			t.Fatalf("root token file holds %q", rootSecret)
		}
		r = keep(b.ok(t, "", "bootstrap", "--out", "root.token"))
		if !strings.Contains(r.stdout, "already holds the active bootstrap token") {
			t.Errorf("second bootstrap: %q", r.stdout)
		}

		// Create: the secret is on stdout, once.
		var ci token
		r = b.okJSON(t, &ci, "", "tokens", "create", "--user", "2", "--name", "ci", "--scopes", "api,read_api", "--expires", "2027-01-01")
		if !secretShape.MatchString(ci.Token) || ci.Kind != "personal" || ci.UserID != 2 || *ci.ExpiresAt != "2027-01-01" || ci.State != "active" {
			t.Fatalf("created %+v", ci)
		}
		if !strings.Contains(r.stderr, "owned no token before") {
			t.Errorf("no note about a user without tokens: %q", r.stderr)
		}
		r = b.ok(t, "", "tokens", "create", "--project", "7", "--name", "deploy", "--scopes", "read_api", "--access-level", "developer")
		deploySecret := secretShape.FindString(r.stdout)
		if deploySecret == "" || !strings.Contains(r.stdout, "project 7") || !strings.Contains(r.stdout, "30") {
			t.Fatalf("project token:\n%s", r.stdout)
		}

		// List: a table, and JSON.
		r = keep(b.ok(t, "", "tokens", "list"))
		for _, want := range []string{"ID", "KIND", "patkit bootstrap", "ci", "deploy", "project 7", "api,read_api"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("list lacks %q:\n%s", want, r.stdout)
			}
		}
		var all page
		keep(b.okJSON(t, &all, "", "tokens", "list"))
		if all.Total != 3 || len(all.Tokens) != 3 {
			t.Errorf("list --json: %+v", all)
		}
		var mine page
		keep(b.okJSON(t, &mine, "", "tokens", "list", "--user", "2"))
		if len(mine.Tokens) != 1 || mine.Tokens[0].ID != ci.ID {
			t.Errorf("list --user 2: %+v", mine)
		}
		var proj page
		keep(b.okJSON(t, &proj, "", "tokens", "list", "--project", "7"))
		if len(proj.Tokens) != 1 || proj.Tokens[0].Name != "deploy" || proj.Tokens[0].AccessLevel != 30 {
			t.Errorf("list --project 7: %+v", proj)
		}

		// Show and identify by secret (stdin) name the same token.
		var shown, identified token
		keep(b.okJSON(t, &shown, "", "tokens", "show", fmt.Sprint(ci.ID)))
		keep(b.okJSON(t, &identified, ci.Token+"\n", "token", "identify"))
		if shown.ID != ci.ID || identified.ID != ci.ID || shown.Name != "ci" {
			t.Errorf("show %+v, identify %+v", shown, identified)
		}
		r = keep(b.ok(t, ci.Token, "token", "identify"))
		if !strings.Contains(r.stdout, "ci") || !strings.Contains(r.stdout, "active") {
			t.Errorf("identify:\n%s", r.stdout)
		}

		// Rotate: a new secret, the old token revoked.
		var rotated token
		b.okJSON(t, &rotated, "", "tokens", "rotate", fmt.Sprint(ci.ID), "--expires", "2026-12-20")
		if rotated.ID == ci.ID || rotated.PreviousID != ci.ID || !secretShape.MatchString(rotated.Token) || rotated.Token == ci.Token {
			t.Fatalf("rotated %+v", rotated)
		}
		keep(b.okJSON(t, &shown, "", "tokens", "show", fmt.Sprint(ci.ID)))
		if !shown.Revoked || shown.State != "revoked" {
			t.Errorf("the rotated token: %+v", shown)
		}
		keep(b.fails(t, 1, "Token already revoked", "", "tokens", "rotate", fmt.Sprint(ci.ID)))
		// A project token rotates through its project.
		var deploy token
		keep(b.okJSON(t, &deploy, deploySecret, "token", "identify"))
		r = b.ok(t, "", "tokens", "rotate", fmt.Sprint(deploy.ID))
		if !secretShape.MatchString(r.stdout) || !strings.Contains(r.stdout, "project 7") {
			t.Errorf("project token rotation:\n%s", r.stdout)
		}

		// Revoke by ID, and by secret.
		r = keep(b.ok(t, "", "tokens", "revoke", fmt.Sprint(rotated.ID)))
		if !strings.Contains(r.stdout, fmt.Sprintf("revoked token %d", rotated.ID)) {
			t.Errorf("revoke: %q", r.stdout)
		}
		keep(b.okJSON(t, &shown, "", "tokens", "show", fmt.Sprint(rotated.ID)))
		if !shown.Revoked {
			t.Error("revoke left the token active")
		}
		var revoked token
		keep(b.okJSON(t, &revoked, string(rootSecret), "token", "revoke-secret"))
		if !revoked.Revoked || revoked.Name != "patkit bootstrap" {
			t.Errorf("revoke-secret: %+v", revoked)
		}
		var active page
		keep(b.okJSON(t, &active, "", "tokens", "list", "--state", "active"))
		if len(active.Tokens) != 1 || active.Tokens[0].PreviousID != deploy.ID {
			t.Errorf("active tokens: %+v", active.Tokens)
		}
		// A revoked bootstrap token is replaced.
		r = keep(b.ok(t, "", "bootstrap", "--out", "root.token"))
		if !strings.Contains(r.stdout, "wrote a new bootstrap token") {
			t.Errorf("bootstrap after revocation: %q", r.stdout)
		}

		// Refusals: one line, exit 1.
		keep(b.fails(t, 1, "not found", "", "tokens", "show", "999"))
		keep(b.fails(t, 1, "Sudo can only be enabled for administrators", "", "tokens", "create", "--user", "3", "--name", "x", "--scopes", "sudo"))
		keep(b.fails(t, 1, "Expiration date must be before", "", "tokens", "create", "--user", "3", "--name", "x", "--scopes", "api", "--expires", "2099-01-01"))
		keep(b.fails(t, 1, "not found", "glpat-aaaaaaaaaaaaaaaaaaaaaaaaaaa0000000", "token", "identify"))
		keep(b.fails(t, 1, "Token type not supported", "ghp_abc", "token", "identify"))
		keep(b.fails(t, 1, "Expiration date can't be blank", "", "tokens", "create", "--user", "3", "--impersonation", "--name", "imp", "--scopes", "api"))
		var imp token
		b.okJSON(t, &imp, "", "tokens", "create", "--user", "3", "--admin", "--impersonation", "--name", "imp", "--scopes", "api,sudo", "--expires", "2027-01-01")
		if imp.Kind != "impersonation" || !secretShape.MatchString(imp.Token) {
			t.Errorf("impersonation token: %+v", imp)
		}
		var imps page
		keep(b.okJSON(t, &imps, "", "tokens", "list", "--user", "3", "--impersonation"))
		if len(imps.Tokens) != 1 || imps.Tokens[0].ID != imp.ID || imps.Tokens[0].Token != "" {
			t.Errorf("list --impersonation: %+v", imps)
		}

		secrets := []string{ci.Token, rotated.Token, deploySecret, imp.Token, string(bytes.TrimSpace(rootSecret))}
		for _, out := range outputs {
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("a secret appears in the output of a command that did not create it:\n%s", out)
				}
			}
			if secretShape.MatchString(out) {
				t.Errorf("something shaped like a secret in:\n%s", out)
			}
		}
	})
}

// The key must match the database: a wrong one is refused, with one line
// that says so, before anything is done.
func TestWrongKey(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		b.ok(t, "", "bootstrap", "--out", "root.token")
		other := filepath.Join(b.dir, "other.key")
		if err := os.WriteFile(other, bytes.Repeat([]byte("k"), 32), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{
			{"tokens", "list"},
			{"tokens", "create", "--user", "2", "--name", "x", "--scopes", "api"},
			{"key", "check"},
			{"key", "rotate"},
			{"bootstrap", "--out", "other.token"},
		} {
			r := b.fails(t, 1, "does not match", "", append(args, "--key-file", other)...)
			if r.stdout != "" {
				t.Errorf("%q printed %q", args, r.stdout)
			}
		}
		root, _ := os.ReadFile(filepath.Join(b.dir, "root.token"))
		b.fails(t, 1, "does not match", string(root), "token", "identify", "--key-file", other)
		var p page
		b.okJSON(t, &p, "", "tokens", "list")
		if len(p.Tokens) != 1 {
			t.Errorf("%d tokens after the refusals, want 1", len(p.Tokens))
		}
		b.fails(t, 1, "no key file", "", "tokens", "list", "--key-file", filepath.Join(b.dir, "missing.key"))
		if b.name == "postgres" {
			b.fails(t, 1, "no patkit tables in this schema", "", "tokens", "list", "--schema", "patkit_cli_no_such_schema")
		}
		if _, err := os.Stat(filepath.Join(b.dir, "other.token")); !os.IsNotExist(err) {
			t.Error("bootstrap with a wrong key wrote a token file")
		}
	})
}

// Rotating the key: the old key moves to <key-file>.previous; tokens made
// before keep working and are re-digested under the new key on use; the
// old key alone is refused from then on.
func TestKeyRotate(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		b.ok(t, "", "bootstrap", "--out", "root.token")
		keyFile := filepath.Join(b.dir, "patkit.key")
		if b.name == "sqlite" {
			keyFile = filepath.Join(b.dir, "patkit.db.key")
		}
		oldKey, err := os.ReadFile(keyFile)
		if err != nil {
			t.Fatal(err)
		}
		var before, after token
		b.okJSON(t, &before, "", "tokens", "create", "--user", "2", "--name", "old", "--scopes", "api")

		r := b.ok(t, "", "key", "rotate")
		if !strings.Contains(r.stdout, "now remembers the new key") || secretShape.MatchString(r.stdout) {
			t.Errorf("key rotate: %q", r.stdout)
		}
		newKey, _ := os.ReadFile(keyFile)
		prev, err := os.ReadFile(keyFile + ".previous")
		if err != nil || bytes.Equal(newKey, oldKey) || strings.TrimSpace(string(prev)) != fmt.Sprintf("%x", oldKey) {
			t.Fatalf("after key rotate: key changed %v, previous %q, %v", !bytes.Equal(newKey, oldKey), prev, err)
		}
		if r := b.ok(t, "", "key", "check"); !strings.Contains(r.stdout, "matches") || !strings.Contains(r.stdout, "1 previous key") {
			t.Errorf("key check: %q", r.stdout)
		}

		// The old token is found through the previous key, and re-digested.
		b.okJSON(t, &after, before.Token, "token", "identify")
		if after.ID != before.ID {
			t.Fatalf("identify after rotation: %+v", after)
		}
		os.Rename(keyFile+".previous", keyFile+".kept")
		b.okJSON(t, &after, before.Token, "token", "identify")
		if after.ID != before.ID {
			t.Errorf("the token was not re-digested under the new key: %+v", after)
		}
		// The bootstrap token, never used since, needs the previous key.
		root, _ := os.ReadFile(filepath.Join(b.dir, "root.token"))
		b.fails(t, 1, "not found", string(root), "token", "identify")
		os.Rename(keyFile+".kept", keyFile+".previous")
		b.ok(t, string(root), "token", "identify")

		// New tokens are made under the new key.
		var fresh token
		b.okJSON(t, &fresh, "", "tokens", "create", "--user", "2", "--name", "new", "--scopes", "api")
		os.Remove(keyFile + ".previous")
		b.ok(t, fresh.Token, "token", "identify")

		// The old key alone no longer matches.
		old := filepath.Join(b.dir, "old.key")
		os.WriteFile(old, oldKey, 0o600)
		b.fails(t, 1, "does not match", "", "tokens", "list", "--key-file", old)
	})
}

// An unreachable database is one line naming the address, never the
// password.
func TestUnreachable(t *testing.T) {
	b := &backend{dir: t.TempDir()}
	for _, args := range [][]string{
		{"--postgres", "postgres://alice:s3cr3tpw@127.0.0.1:1/tokens?sslmode=disable", "tokens", "list"},
		{"--postgres", "host=127.0.0.1 port=1 user=alice password=s3cr3tpw dbname=tokens sslmode=disable", "migrate"},
	} {
		r := b.fails(t, 1, "cannot reach PostgreSQL at 127.0.0.1:1", "", args...)
		if strings.Contains(r.stderr, "s3cr3tpw") || !strings.Contains(r.stderr, `database "tokens"`) {
			t.Errorf("%q: %q", args, r.stderr)
		}
	}
	b.env = []string{"PATKIT_DATABASE=postgres://alice:s3cr3tpw@127.0.0.1:1/tokens?sslmode=disable"}
	if r := b.fails(t, 1, "cannot reach", "", "key", "check"); strings.Contains(r.stderr, "s3cr3tpw") {
		t.Errorf("the password in %q", r.stderr)
	}
	b.env = []string{"PATKIT_DATABASE=host=127.0.0.1 port=1 user=alice password=s3cr3tpw dbname=tokens"}
	if r := b.fails(t, 1, "cannot reach PostgreSQL at 127.0.0.1:1", "", "tokens", "list"); strings.Contains(r.stderr, "s3cr3tpw") {
		t.Errorf("the password in %q", r.stderr)
	}
	b.env = nil
	r := b.fails(t, 2, "not a valid PostgreSQL DSN", "", "--postgres", "postgres://alice:s3cr3tpw@[::1:5432/x", "migrate")
	if strings.Contains(r.stderr, "s3cr3tpw") {
		t.Errorf("the password in %q", r.stderr)
	}
	b.fails(t, 1, "no SQLite database at", "", "--sqlite", filepath.Join(b.dir, "missing.db"), "tokens", "list")
	if _, err := os.Stat(filepath.Join(b.dir, "missing.db")); !os.IsNotExist(err) {
		t.Error("tokens list created the database file")
	}
	b.fails(t, 1, "cannot reach the SQLite database", "", "--sqlite", filepath.Join(b.dir, "no", "such", "dir.db"), "migrate")
}

// migrate creates the database and is idempotent; it needs no key.
func TestMigrate(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		for range 3 {
			var out struct {
				UpToDate bool `json:"up_to_date"`
			}
			b.okJSON(t, &out, "", "migrate")
			if !out.UpToDate {
				t.Errorf("migrate --json: %+v", out)
			}
		}
		if r := b.ok(t, "", "migrate"); !strings.Contains(r.stdout, "up to date") {
			t.Errorf("migrate: %q", r.stdout)
		}
		entries, _ := os.ReadDir(b.dir)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".key") {
				t.Errorf("migrate created a key file %s", e.Name())
			}
		}
	})
}

// Usage errors exit 2, and a secret given on the command line is refused
// without being echoed.
func TestUsage(t *testing.T) {
	b := sqliteBackend(t)
	b.ok(t, "", "migrate")
	const secret = "glpat-aaaaaaaaaaaaaaaaaaaaaaaaaaa0000000"
	for _, c := range []struct {
		want string
		args []string
	}{
		{"no command", nil},
		{"unknown command", []string{"frobnicate"}},
		{"unknown command", []string{secret}},
		{"tokens needs a subcommand", []string{"tokens"}},
		{"reads the secret from standard input", []string{"token", "identify", secret}},
		{"reads the secret from standard input", []string{"token", "revoke-secret", secret}},
		{"not a token ID", []string{"tokens", "show", secret}},
		{"invalid value for flag -expires", []string{"tokens", "create", "--user", "2", "--name", "x", "--scopes", "api", "--expires", secret}},
		{"0001-01-01 is no expiry date", []string{"tokens", "create", "--user", "2", "--name", "x", "--scopes", "api", "--expires", "0001-01-01"}},
		{"0001-01-01 is no expiry date", []string{"tokens", "rotate", "1", "--expires", "0001-01-01"}},
		{"needs --user, --project or --group", []string{"tokens", "create", "--name", "x"}},
		{"not both", []string{"tokens", "create", "--project", "1", "--group", "1", "--name", "x"}},
		{"needs --out", []string{"bootstrap"}},
		{"not both", []string{"--postgres", "postgres://x", "tokens", "list"}},
		{"flag provided but not defined", []string{"tokens", "list", "--nope"}},
	} {
		r := b.fails(t, 2, c.want, "", c.args...)
		if strings.Contains(r.stderr, secret) || r.stdout != "" {
			t.Errorf("%q: stdout %q, stderr %q", c.args, r.stdout, r.stderr)
		}
	}
	b.fails(t, 2, "give the secret on standard input", "", "token", "identify")
	b.fails(t, 2, "no database", "", "--sqlite", "", "tokens", "list")
	if r := b.ok(t, "", "-h"); !strings.Contains(r.stdout, "tokens create") {
		t.Errorf("-h: %q", r.stdout)
	}
}

// bootstrap never overwrites a file that does not hold its token.
func TestBootstrapRefusesForeignFile(t *testing.T) {
	b := sqliteBackend(t)
	b.ok(t, "", "bootstrap", "--out", "root.token")
	foreign := filepath.Join(b.dir, "foreign.token")
	os.WriteFile(foreign, []byte("not a token\n"), 0o600)
	b.fails(t, 1, "refusing to overwrite", "", "bootstrap", "--out", foreign)
	if got, _ := os.ReadFile(foreign); string(got) != "not a token\n" {
		t.Errorf("the file was overwritten: %q", got)
	}
}

// Command patkit administers the tokens of a patkit database directly: a
// SQLite file or a PostgreSQL database, with the instance key file. It
// acts as an administrator of the instance, through patkit's Service and
// its rules, as GitLab's admin API would.
//
//	patkit [flags] tokens list [--user ID | --project ID | --group ID] [--impersonation]
//	patkit [flags] tokens show ID
//	patkit [flags] tokens create --user ID [--admin] [--impersonation] --name N --scopes api,read_api [--expires 2027-01-01] [--description D]
//	patkit [flags] tokens create --project ID | --group ID [--access-level maintainer] --name N --scopes api [--expires DATE]
//	patkit [flags] tokens rotate ID [--expires DATE]
//	patkit [flags] tokens revoke ID
//	patkit [flags] token identify       < secret
//	patkit [flags] token revoke-secret  < secret
//	patkit [flags] key check
//	patkit [flags] key rotate
//	patkit [flags] migrate
//	patkit [flags] bootstrap --out FILE [--user 1]
//
// Every command takes the database flags, before or after its name:
// --sqlite FILE or --postgres DSN (default: the environment variable
// PATKIT_DATABASE, a file or a PostgreSQL DSN (a postgres:// URL or
// "host=... dbname=..." keywords), which keeps a password out
// of the command line), --schema (PostgreSQL, default public),
// --table-prefix (SQLite), --key-file (default PATKIT_KEY_FILE, else
// <file>.key for SQLite and patkit.key for PostgreSQL, as the example
// server), --json (machine-readable output) and --timeout.
//
// Output: tables for people, JSON with --json. A token's secret is
// printed once, by the command that created it (create, rotate); no
// command prints any other secret, nor a digest. Secrets given to the CLI
// (identify, revoke-secret) are read from standard input, never from the
// command line, where other users could see them. Exit status: 0 on
// success, 1 on failure (one line on standard error: a refusal, a wrong
// key, an unreachable database), 2 on a usage error.
//
// # What the CLI knows
//
// patkit stores tokens, not users, projects or groups: those belong to
// the host application, which the CLI cannot see. It therefore takes every
// user ID below 2^40 as an existing, active user (it cannot see whether
// the host has blocked or deleted one; a token of a user the host does not
// know never authenticates), not an administrator unless --admin says so
// (needed for the admin scopes sudo, admin_mode and read_service_ping);
// the bot users of project and group tokens are known from their tokens,
// as the Service knows them when the host leaves bots to patkit. Projects
// and groups are addressed by numeric ID, and any ID is taken to exist.
// The operator acts as an administrator that exists only in the CLI.
// Instance settings are GitLab's defaults: the glpat- prefix, expiry
// required and at most 365 days away.
//
// # Keys
//
// Every command but migrate refuses to run unless the key file matches
// the key the database remembers (see patkit.Service.VerifyKey): under
// another key no token would be found, and tokens created would never
// authenticate. Only bootstrap creates a missing key file, and only over
// a database without tokens. "key rotate" replaces the key by a new one,
// keeps the old one in <key-file>.previous (one hex-encoded key per line,
// newest first, mode 0600) and makes the database remember the new key;
// tokens created before keep working through the previous key
// (patkit.Options.PreviousKeys) and are re-digested under the new one on
// their next use. Restart every server of the database after a rotation,
// with both files: the example server reads <key-file>.previous by itself;
// a host that loads the key itself must pass those keys in
// Options.PreviousKeys. Keep the previous keys until every token created
// before the rotation has been used since, has expired (at most 365 days)
// or has been revoked.
//
// # Migrations
//
// migrate and bootstrap create the database (the SQLite file, the
// PostgreSQL schema) if it is missing; the other commands refuse a missing
// one rather than work on an empty database made by a typo. Every command
// applies pending migrations first, as a server does at start; migrate
// does only that, and needs no key.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// cli is one run of the command: its streams and environment.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// usageError is a command line the CLI does not understand: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

const usage = `usage: patkit [--sqlite FILE | --postgres DSN] [--key-file FILE] [--json] COMMAND

commands:
  tokens list [--user ID | --project ID | --group ID] [--impersonation] [--state active|inactive]
              [--revoked true|false] [--search WORDS] [--sort ORDER] [--page N] [--per-page N]
  tokens show ID
  tokens create --user ID [--admin] [--impersonation] --name NAME --scopes S1,S2 [--expires YYYY-MM-DD] [--description D]
  tokens create --project ID | --group ID [--access-level LEVEL] --name NAME --scopes S1,S2 [--expires YYYY-MM-DD]
  tokens rotate ID [--expires YYYY-MM-DD]
  tokens revoke ID
  token identify        (reads the secret from standard input)
  token revoke-secret   (reads the secret from standard input)
  key check
  key rotate
  migrate
  bootstrap --out FILE [--user ID]

database: --sqlite FILE or --postgres DSN, else $PATKIT_DATABASE (a file or a postgres:// DSN);
--schema (PostgreSQL), --table-prefix (SQLite); --key-file, else $PATKIT_KEY_FILE, else
<file>.key (SQLite) or patkit.key (PostgreSQL). Each command's flags: patkit COMMAND -h.
`

// run runs the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	err := c.dispatch(ctx, args)
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "patkit: %s (patkit -h for help)\n", ue.msg)
		return 2
	}
	fmt.Fprintln(stderr, "patkit:", describe(err))
	return 1
}

// command is one command: it parses its own flags, which include the
// database flags, from args.
type command func(c *cli, ctx context.Context, args []string) error

var commands = map[string]map[string]command{
	"tokens": {
		"list":          (*cli).tokensList,
		"show":          (*cli).tokensShow,
		"create":        (*cli).tokensCreate,
		"rotate":        (*cli).tokensRotate,
		"revoke":        (*cli).tokensRevoke,
		"identify":      (*cli).tokenIdentify,
		"revoke-secret": (*cli).tokenRevokeSecret,
	},
	"key": {
		"check":  (*cli).keyCheck,
		"rotate": (*cli).keyRotate,
	},
	"migrate":   {"": (*cli).migrate},
	"bootstrap": {"": (*cli).bootstrap},
}

func (c *cli) dispatch(ctx context.Context, args []string) error {
	// Database flags may come before the command: they are handed to it.
	var global []string
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
			fmt.Fprint(c.stdout, usage)
			return nil
		}
		global = append(global, args[0])
		args = args[1:]
		if len(args) > 0 && !strings.Contains(global[len(global)-1], "=") && !isBoolFlag(global[len(global)-1]) {
			global = append(global, args[0])
			args = args[1:]
		}
	}
	if len(args) == 0 {
		return usagef("no command")
	}
	if args[0] == "help" {
		fmt.Fprint(c.stdout, usage)
		return nil
	}
	group := args[0]
	if group == "token" {
		group = "tokens"
	}
	subs, ok := commands[group]
	if !ok {
		return usagef("unknown command %q", shown(args[0]))
	}
	args = args[1:]
	if cmd, ok := subs[""]; ok {
		return cmd(c, ctx, append(global, args...))
	}
	if len(args) == 0 {
		return usagef("%s needs a subcommand", group)
	}
	cmd, ok := subs[args[0]]
	if !ok {
		return usagef("unknown command %q", group+" "+shown(args[0]))
	}
	return cmd(c, ctx, append(global, args[1:]...))
}

// shown returns a word of the command line to quote in a message, or
// "..." if it could be a secret, given where it does not belong.
func shown(s string) string {
	if len(s) > 32 || strings.Contains(strings.ToLower(s), "glpat") {
		return "..."
	}
	return s
}

// isBoolFlag reports whether the global flag arg takes no value.
func isBoolFlag(arg string) bool {
	return strings.TrimLeft(arg, "-") == "json"
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/internal/keyfile"
	"github.com/patkit/patkit/pgstore"
	"github.com/patkit/patkit/sqlitestore"
)

// dbFlags are the flags every command takes.
type dbFlags struct {
	sqlite, postgres string
	schema, prefix   string
	keyFile          string
	json             bool
	timeout          time.Duration
}

// newFlags returns the flag set of a command, with the database flags.
func (c *cli) newFlags(name string) (*flag.FlagSet, *dbFlags) {
	fl := flag.NewFlagSet(name, flag.ContinueOnError)
	// parse reports errors itself, without echoing values, which could be
	// secrets given by mistake.
	fl.SetOutput(io.Discard)
	d := &dbFlags{}
	fl.StringVar(&d.sqlite, "sqlite", "", "SQLite database `file`")
	fl.StringVar(&d.postgres, "postgres", "", "PostgreSQL `DSN` (postgres://...); prefer $PATKIT_DATABASE, which other users cannot see")
	fl.StringVar(&d.schema, "schema", "", "PostgreSQL schema of patkit's tables (default public)")
	fl.StringVar(&d.prefix, "table-prefix", "", "SQLite table prefix (sqlitestore.Options.TablePrefix)")
	fl.StringVar(&d.keyFile, "key-file", "", "instance key `file` (default $PATKIT_KEY_FILE, else <file>.key for SQLite, patkit.key for PostgreSQL)")
	fl.BoolVar(&d.json, "json", false, "print JSON")
	fl.DurationVar(&d.timeout, "timeout", time.Minute, "give up after this long")
	return fl, d
}

// parse parses args with fl, flags and positional arguments in any
// order, and returns the positional ones.
func (c *cli) parse(fl *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fl.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fl.SetOutput(c.stdout)
				fmt.Fprintf(c.stdout, "usage of %s:\n", fl.Name())
				fl.PrintDefaults()
				return nil, err
			}
			return nil, usagef("%s: %s", fl.Name(), flagError(err))
		}
		args = fl.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// flagError returns the flag package's message without the value it
// quotes: "invalid value "..." for flag -expires: ..." names the flag only.
func flagError(err error) string {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "invalid value "); ok {
		if i := strings.Index(rest, " for flag "); i >= 0 {
			return "invalid value for flag " + rest[i+len(" for flag "):]
		}
	}
	if rest, ok := strings.CutPrefix(msg, "invalid boolean value "); ok {
		if i := strings.Index(rest, " for "); i >= 0 {
			return "invalid boolean value for " + rest[i+len(" for "):]
		}
	}
	return msg
}

// db is an open database, with its Service and the operator's principal.
type db struct {
	store interface {
		patkit.Store
		patkit.KeyStore
		io.Closer
	}
	where    string // the database, as messages name it (no password)
	keyFile  string
	previous [][]byte
	dir      *directory
	svc      *patkit.Service
	op       *patkit.Principal
	// firstKey reports that the database remembered no key before this
	// run: it now remembers the one in keyFile.
	firstKey bool
}

// How open treats the database and the key file.
type openMode int

const (
	// existing: the database must exist and the key file too.
	existing openMode = iota
	// creating: the database is created if missing, and the key file if
	// the database holds no tokens (bootstrap).
	creating
	// storeOnly: the database is created if missing; no key (migrate).
	storeOnly
)

// open opens the database the flags name, brings its schema up to date
// and, unless mode is storeOnly, makes a Service with the key file and
// verifies the key. The caller closes it.
func (c *cli) open(ctx context.Context, d *dbFlags, mode openMode) (*db, error) {
	if d.sqlite != "" && d.postgres != "" {
		return nil, usagef("give --sqlite or --postgres, not both")
	}
	sqlite, postgres := d.sqlite, d.postgres
	if sqlite == "" && postgres == "" {
		env := c.getenv("PATKIT_DATABASE")
		// A URL, or keywords ("host=... dbname=..."), is PostgreSQL; a
		// file name never goes to a message as a DSN could.
		if strings.HasPrefix(env, "postgres://") || strings.HasPrefix(env, "postgresql://") || strings.Contains(env, "=") {
			postgres = env
		} else {
			sqlite = env
		}
	}
	if sqlite == "" && postgres == "" {
		return nil, usagef("no database: give --sqlite FILE or --postgres DSN, or set PATKIT_DATABASE")
	}
	keyPath := cmp(d.keyFile, c.getenv("PATKIT_KEY_FILE"))
	x := &db{}
	if postgres != "" {
		if d.prefix != "" {
			return nil, usagef("--table-prefix is for SQLite; PostgreSQL takes --schema")
		}
		cfg, err := pgconn.ParseConfig(postgres)
		if err != nil {
			// The parser's message may quote the DSN, password and all.
			return nil, usagef("--postgres: not a valid PostgreSQL DSN")
		}
		x.where = fmt.Sprintf("PostgreSQL at %s:%d (database %q, user %q", cfg.Host, cfg.Port, cfg.Database, cfg.User)
		if d.schema != "" {
			x.where += fmt.Sprintf(", schema %q", d.schema)
		}
		x.where += ")"
		if mode == existing {
			if err := pgSchemaExists(ctx, postgres, cmp(d.schema, "public")); err != nil {
				return nil, dbError(x.where, cfg.Password, err)
			}
		}
		s, err := pgstore.Open(ctx, postgres, &pgstore.Options{Schema: d.schema})
		if err != nil {
			return nil, dbError(x.where, cfg.Password, err)
		}
		x.store = s
		keyPath = cmp(keyPath, "patkit.key")
	} else {
		if d.schema != "" {
			return nil, usagef("--schema is for PostgreSQL; SQLite takes --table-prefix")
		}
		x.where = "the SQLite database " + sqlite
		if mode == existing {
			if _, err := os.Stat(sqlite); errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("no SQLite database at %s (patkit migrate or bootstrap creates one)", sqlite)
			}
		}
		s, err := sqlitestore.Open(ctx, sqlite, &sqlitestore.Options{TablePrefix: d.prefix})
		if err != nil {
			return nil, dbError(x.where, "", err)
		}
		x.store = s
		keyPath = cmp(keyPath, sqlite+".key")
	}
	if mode == storeOnly {
		return x, nil
	}
	if err := x.loadKey(ctx, keyPath, mode); err != nil {
		x.store.Close()
		return nil, err
	}
	return x, nil
}

// loadKey reads the key file (creating it in mode creating, over a
// database without tokens), makes the Service and verifies the key.
func (x *db) loadKey(ctx context.Context, path string, mode openMode) error {
	x.keyFile = path
	var (
		key []byte
		err error
	)
	if mode == creating {
		key, x.previous, err = keyfile.Load(ctx, path, x.store)
	} else {
		key, x.previous, err = keyfile.Read(path)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no key file at %s (give --key-file; only bootstrap creates one, for a database without tokens)", path)
	}
	if err != nil {
		return fmt.Errorf("key file: %s", strings.TrimPrefix(err.Error(), "patkit: "))
	}
	return x.start(ctx, key)
}

// start makes the Service with key and the previous keys and verifies the
// key against the database.
func (x *db) start(ctx context.Context, key []byte) error {
	x.dir = &directory{admins: map[int64]bool{}}
	svc, err := patkit.New(x.store, x.dir, key, &patkit.Options{PreviousKeys: x.previous, CacheSize: -1})
	if err != nil {
		return fmt.Errorf("key file %s: %s", x.keyFile, strings.TrimPrefix(err.Error(), "patkit: "))
	}
	check, err := x.store.KeyCheck(ctx)
	if err != nil {
		return dbError(x.where, "", err)
	}
	x.firstKey = check == nil
	if err := svc.VerifyKey(ctx); errors.Is(err, patkit.ErrKeyMismatch) {
		return fmt.Errorf("the key in %s does not match %s: its tokens are digested with another key; refusing to run (give the right --key-file)", x.keyFile, x.where)
	} else if err != nil {
		return dbError(x.where, "", err)
	}
	if x.op, err = svc.Principal(ctx, operatorID, true); err != nil {
		return err
	}
	x.svc = svc
	return nil
}

// errNoSchema reports a PostgreSQL schema without patkit's tables.
var errNoSchema = errors.New("it has no patkit tables in this schema (patkit migrate or bootstrap creates them; or give --schema)")

// pgSchemaExists checks that the schema holds patkit's tables, so that a
// mistyped --schema is reported rather than created empty.
func pgSchemaExists(ctx context.Context, dsn, schema string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("%w: %w", patkit.ErrUnavailable, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var ok bool
	table := pgx.Identifier{schema, "patkit_migrations"}.Sanitize()
	if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return errNoSchema
	}
	return nil
}

func (x *db) Close() error { return x.store.Close() }

// dbError describes a failure to use the database, naming it by where and
// never by its password.
func dbError(where, password string, err error) error {
	msg := err.Error()
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) && ce.Unwrap() != nil {
		msg = ce.Unwrap().Error()
	}
	msg, _, _ = strings.Cut(msg, "\n") // one line: several attempts' errors follow

	if password != "" {
		msg = strings.ReplaceAll(msg, password, "xxxxx")
	}
	if errors.Is(err, patkit.ErrUnavailable) {
		return fmt.Errorf("cannot reach %s: %s", where, msg)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s did not answer in time (--timeout): %s", where, msg)
	}
	return fmt.Errorf("%s: %s", where, msg)
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// operatorID is the user ID of the operator, an administrator that exists
// only in the CLI's directory; host user IDs start at 1.
const operatorID = 0

// hostUserIDs bounds the IDs of the host's users: patkit's own bot users
// get IDs from 2^40 up (see patkit.BotDirectory).
const hostUserIDs = 1 << 40

// directory is what the CLI knows of the host: every user ID below 2^40
// is an active user, an administrator only if the operator said so; every
// project and group ID exists. Bot users are left to the Service, which
// knows them from their tokens. The operator is an administrator.
type directory struct {
	admins map[int64]bool // set before the Service is used
}

func (d *directory) UserByID(_ context.Context, id int64) (*patkit.User, error) {
	switch {
	case id == operatorID:
		return &patkit.User{ID: operatorID, Username: "patkit-cli", Name: "patkit CLI operator", Admin: true}, nil
	case id < 0 || id >= hostUserIDs:
		return nil, fmt.Errorf("user %d: %w", id, patkit.ErrNotFound)
	}
	name := "user" + strconv.FormatInt(id, 10)
	return &patkit.User{ID: id, Username: name, Name: name, Admin: d.admins[id]}, nil
}

func (d *directory) UserByUsername(_ context.Context, username string) (*patkit.User, error) {
	return nil, fmt.Errorf("user %q: %w", username, patkit.ErrNotFound)
}

func (d *directory) Resource(_ context.Context, _ *patkit.Principal, typ patkit.ResourceType, ref string) (*patkit.Resource, error) {
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil || id <= 0 {
		return nil, fmt.Errorf("%s %q: %w", typ, ref, patkit.ErrNotFound)
	}
	return &patkit.Resource{Type: typ, ID: id, FullPath: ref}, nil
}

// AccessLevel answers NoAccess: the operator acts as an administrator, and
// a bot keeps the level stored with its token.
func (d *directory) AccessLevel(context.Context, int64, *patkit.Resource) (patkit.AccessLevel, error) {
	return patkit.NoAccess, nil
}

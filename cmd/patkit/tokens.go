package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/patkit/patkit"
)

// withDB opens the database for a command, runs fn and closes it, all
// within the command's timeout.
func (c *cli) withDB(ctx context.Context, d *dbFlags, mode openMode, fn func(ctx context.Context, x *db) error) error {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	x, err := c.open(ctx, d, mode)
	if err != nil {
		return err
	}
	defer x.Close()
	if err := fn(ctx, x); err != nil {
		if errors.Is(err, patkit.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
			return dbError(x.where, "", err)
		}
		return err
	}
	return nil
}

// resourceFlags are --project and --group.
type resourceFlags struct{ project, group int64 }

func (r *resourceFlags) get() (patkit.ResourceType, int64, error) {
	switch {
	case r.project != 0 && r.group != 0:
		return "", 0, usagef("give --project or --group, not both")
	case r.project < 0 || r.group < 0:
		return "", 0, usagef("project and group IDs are positive")
	case r.project != 0:
		return patkit.ResourceProject, r.project, nil
	case r.group != 0:
		return patkit.ResourceGroup, r.group, nil
	}
	return "", 0, nil
}

func (c *cli) tokensList(ctx context.Context, args []string) error {
	fl, d := c.newFlags("tokens list")
	var (
		res           resourceFlags
		user          int64
		impersonation bool
		f             patkit.Filter
		revoked       string
	)
	fl.Int64Var(&user, "user", 0, "list the tokens of this user `ID`")
	fl.Int64Var(&res.project, "project", 0, "list the access tokens of this project `ID`")
	fl.Int64Var(&res.group, "group", 0, "list the access tokens of this group `ID`")
	fl.BoolVar(&impersonation, "impersonation", false, "list the impersonation tokens of --user")
	fl.StringVar((*string)(&f.State), "state", "", "active or inactive")
	fl.StringVar(&revoked, "revoked", "", "true or false")
	fl.StringVar(&f.Search, "search", "", "words the names contain")
	fl.StringVar((*string)(&f.Sort), "sort", "", "created_asc, created_desc, expires_asc, expires_desc, last_used_asc, last_used_desc, name_asc or name_desc")
	fl.IntVar(&f.Page, "page", 1, "page `number`")
	fl.IntVar(&f.PerPage, "per-page", 100, "tokens per page, at most 100")
	pos, err := c.parse(fl, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("tokens list takes no arguments")
	}
	typ, rid, err := res.get()
	if err != nil {
		return err
	}
	switch {
	case typ != "" && user != 0:
		return usagef("give --user or --%s, not both", typ)
	case impersonation && user == 0:
		return usagef("--impersonation needs --user")
	case f.State != "" && f.State != patkit.StateActive && f.State != patkit.StateInactive:
		return usagef("--state is active or inactive")
	case !f.Sort.Valid():
		return usagef("--sort: unknown order %q", shown(string(f.Sort)))
	case f.Page < 1 || f.PerPage < 1 || f.PerPage > 100:
		return usagef("--page is at least 1, --per-page between 1 and 100")
	}
	if revoked != "" {
		b, err := strconv.ParseBool(revoked)
		if err != nil {
			return usagef("--revoked is true or false")
		}
		f.Revoked = &b
	}
	return c.withDB(ctx, d, existing, func(ctx context.Context, x *db) error {
		var page *patkit.Page
		switch {
		case typ != "":
			page, err = x.svc.ListResourceTokens(ctx, x.op, typ, strconv.FormatInt(rid, 10), f)
		case impersonation:
			page, err = x.svc.ListImpersonationTokens(ctx, x.op, user, f)
		case user != 0:
			page, err = x.svc.ListUserTokens(ctx, x.op, user, f)
		default:
			page, err = x.svc.ListTokens(ctx, x.op, f)
		}
		if err != nil {
			return err
		}
		return c.printPage(x.svc.Now(), page, d.json)
	})
}

// tokenID parses the one positional argument of a command on a token.
func tokenID(cmd string, pos []string) (int64, error) {
	if len(pos) != 1 {
		return 0, usagef("%s needs one token ID", cmd)
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id <= 0 {
		return 0, usagef("%s: the argument is not a token ID", cmd)
	}
	return id, nil
}

func (c *cli) tokensShow(ctx context.Context, args []string) error {
	fl, d := c.newFlags("tokens show")
	pos, err := c.parse(fl, args)
	if err != nil {
		return err
	}
	id, err := tokenID("tokens show", pos)
	if err != nil {
		return err
	}
	return c.withDB(ctx, d, existing, func(ctx context.Context, x *db) error {
		t, err := x.token(ctx, id)
		if err != nil {
			return err
		}
		return c.printToken(x.svc.Now(), t, "", d.json)
	})
}

// token returns any token by ID, as the Service shows it to an
// administrator: a project or group token through its resource, so that
// it carries its bot's level.
func (x *db) token(ctx context.Context, id int64) (*patkit.Token, error) {
	t, err := x.svc.Token(ctx, x.op, id)
	if err != nil || t.ResourceType == "" {
		return t, err
	}
	return x.svc.ResourceToken(ctx, x.op, t.ResourceType, strconv.FormatInt(t.ResourceID, 10), id)
}

// dateFlag is a flag holding a date, YYYY-MM-DD.
type dateFlag struct{ t time.Time }

func (f *dateFlag) String() string {
	if f.t.IsZero() {
		return ""
	}
	return f.t.Format(time.DateOnly)
}

func (f *dateFlag) Set(s string) error {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return errors.New("want a date, YYYY-MM-DD")
	}
	if t.IsZero() {
		// The zero Time asks the Service for the default expiry.
		return errors.New("0001-01-01 is no expiry date")
	}
	f.t = t
	return nil
}

// levelFlag is an access level, by name or number.
type levelFlag struct{ l patkit.AccessLevel }

var levelNames = map[string]patkit.AccessLevel{
	"guest": patkit.Guest, "planner": patkit.Planner, "reporter": patkit.Reporter,
	"developer": patkit.Developer, "maintainer": patkit.Maintainer, "owner": patkit.Owner,
}

func (f *levelFlag) String() string { return "" }

func (f *levelFlag) Set(s string) error {
	if l, ok := levelNames[strings.ToLower(s)]; ok {
		f.l = l
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("want guest, planner, reporter, developer, maintainer, owner or a number")
	}
	f.l = patkit.AccessLevel(n)
	return nil
}

func (c *cli) tokensCreate(ctx context.Context, args []string) error {
	fl, d := c.newFlags("tokens create")
	var (
		res                  resourceFlags
		user                 int64
		admin, impersonation bool
		o                    patkit.TokenOptions
		scopes               string
		expires              dateFlag
		level                levelFlag
	)
	fl.Int64Var(&user, "user", 0, "create a personal (or impersonation) token of this user `ID`")
	fl.BoolVar(&admin, "admin", false, "the user is an administrator of the host (the CLI cannot tell): allows the admin scopes")
	fl.BoolVar(&impersonation, "impersonation", false, "create an impersonation token (needs --expires)")
	fl.Int64Var(&res.project, "project", 0, "create an access token of this project `ID`")
	fl.Int64Var(&res.group, "group", 0, "create an access token of this group `ID`")
	fl.Var(&level, "access-level", "the level of a project or group token's bot (default maintainer)")
	fl.StringVar(&o.Name, "name", "", "token name")
	fl.StringVar(&o.Description, "description", "", "token description")
	fl.StringVar(&scopes, "scopes", "", "comma-separated scopes (api,read_api,...)")
	fl.Var(&expires, "expires", "expiry date, YYYY-MM-DD (default: the longest allowed, 365 days)")
	pos, err := c.parse(fl, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("tokens create takes no arguments")
	}
	typ, rid, err := res.get()
	if err != nil {
		return err
	}
	switch {
	case typ == "" && user == 0:
		return usagef("tokens create needs --user, --project or --group")
	case typ != "" && (user != 0 || admin || impersonation):
		return usagef("--%s creates a %s access token: --user, --admin and --impersonation do not apply", typ, typ)
	case typ == "" && level.l != 0:
		return usagef("--access-level is for project and group tokens")
	case user < 0 || user >= hostUserIDs:
		return usagef("--user: user IDs are between 1 and 2^40-1")
	}
	for s := range strings.SplitSeq(scopes, ",") {
		if s = strings.TrimSpace(s); s != "" {
			o.Scopes = append(o.Scopes, patkit.Scope(s))
		}
	}
	o.ExpiresAt, o.AccessLevel = expires.t, level.l
	return c.withDB(ctx, d, existing, func(ctx context.Context, x *db) error {
		if typ != "" {
			t, secret, err := x.svc.CreateResourceToken(ctx, x.op, typ, strconv.FormatInt(rid, 10), o)
			if err != nil {
				return err
			}
			return c.printToken(x.svc.Now(), t, secret, d.json)
		}
		x.dir.admins[user] = admin
		known, err := x.hasTokens(ctx, user)
		if err != nil {
			return err
		}
		create := x.svc.CreateToken
		if impersonation {
			create = x.svc.CreateImpersonationToken
		}
		t, secret, err := create(ctx, x.op, user, o)
		if err != nil {
			return err
		}
		if err := c.printToken(x.svc.Now(), t, secret, d.json); err != nil {
			return err
		}
		if !known {
			fmt.Fprintf(c.stderr, "patkit: note: user %d owned no token before; the CLI cannot check that your application has this user\n", user)
		}
		return nil
	})
}

// hasTokens reports whether user owns a token: the CLI's only hint that
// the host has such a user.
func (x *db) hasTokens(ctx context.Context, user int64) (bool, error) {
	page, err := x.svc.ListUserTokens(ctx, x.op, user, patkit.Filter{PerPage: 1})
	if err != nil {
		return false, err
	}
	return len(page.Tokens) > 0, nil
}

func (c *cli) tokensRotate(ctx context.Context, args []string) error {
	fl, d := c.newFlags("tokens rotate")
	var expires dateFlag
	fl.Var(&expires, "expires", "expiry date of the new token, YYYY-MM-DD (default: in 7 days)")
	pos, err := c.parse(fl, args)
	if err != nil {
		return err
	}
	id, err := tokenID("tokens rotate", pos)
	if err != nil {
		return err
	}
	return c.withDB(ctx, d, existing, func(ctx context.Context, x *db) error {
		t, err := x.svc.Token(ctx, x.op, id)
		if err != nil {
			return err
		}
		var secret string
		if t.ResourceType != "" {
			t, secret, err = x.svc.RotateResourceToken(ctx, x.op, t.ResourceType, strconv.FormatInt(t.ResourceID, 10), id, expires.t)
		} else {
			t, secret, err = x.svc.RotateToken(ctx, x.op, id, expires.t)
		}
		if err != nil {
			return err
		}
		return c.printToken(x.svc.Now(), t, secret, d.json)
	})
}

func (c *cli) tokensRevoke(ctx context.Context, args []string) error {
	fl, d := c.newFlags("tokens revoke")
	pos, err := c.parse(fl, args)
	if err != nil {
		return err
	}
	id, err := tokenID("tokens revoke", pos)
	if err != nil {
		return err
	}
	return c.withDB(ctx, d, existing, func(ctx context.Context, x *db) error {
		t, err := x.svc.Token(ctx, x.op, id)
		if err != nil {
			return err
		}
		if t.ResourceType != "" {
			err = x.svc.RevokeResourceToken(ctx, x.op, t.ResourceType, strconv.FormatInt(t.ResourceID, 10), id)
		} else {
			err = x.svc.RevokeToken(ctx, x.op, id)
		}
		if err != nil {
			return err
		}
		if t, err = x.token(ctx, id); err != nil {
			return err
		}
		return c.printRevoked(x.svc.Now(), t, d.json)
	})
}

// readSecret reads a secret from standard input: one line, surrounding
// white space ignored.
func (c *cli) readSecret() (string, error) {
	b, err := io.ReadAll(io.LimitReader(c.stdin, 4096))
	if err != nil {
		return "", fmt.Errorf("read the secret from standard input: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", usagef("give the secret on standard input (never on the command line)")
	}
	if strings.ContainsAny(s, "\r\n") {
		return "", usagef("standard input holds more than one line: give one secret")
	}
	return s, nil
}

func (c *cli) tokenIdentify(ctx context.Context, args []string) error {
	return c.bySecret(ctx, "token identify", args, false)
}

func (c *cli) tokenRevokeSecret(ctx context.Context, args []string) error {
	return c.bySecret(ctx, "token revoke-secret", args, true)
}

func (c *cli) bySecret(ctx context.Context, name string, args []string, revoke bool) error {
	fl, d := c.newFlags(name)
	pos, err := c.parse(fl, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("%s reads the secret from standard input and takes no arguments (a secret on the command line is visible to other users)", name)
	}
	secret, err := c.readSecret()
	if err != nil {
		return err
	}
	return c.withDB(ctx, d, existing, func(ctx context.Context, x *db) error {
		if !revoke {
			t, err := x.svc.IdentifyToken(ctx, x.op, secret)
			if err != nil {
				return err
			}
			return c.printToken(x.svc.Now(), t, "", d.json)
		}
		t, err := x.svc.RevokeTokenBySecret(ctx, x.op, secret)
		if err != nil {
			return err
		}
		return c.printRevoked(x.svc.Now(), t, d.json)
	})
}

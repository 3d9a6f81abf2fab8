package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/patkit/patkit/internal/bootstrap"
	"github.com/patkit/patkit/internal/keyfile"
)

func noArgs(name string, pos []string) error {
	if len(pos) > 0 {
		return usagef("%s takes no arguments", name)
	}
	return nil
}

func (c *cli) keyCheck(ctx context.Context, args []string) error {
	fl, d := c.newFlags("key check")
	pos, err := c.parse(fl, args)
	if err != nil {
		return err
	}
	if err := noArgs("key check", pos); err != nil {
		return err
	}
	return c.withDB(ctx, d, existing, func(ctx context.Context, x *db) error {
		out := struct {
			Matches      bool   `json:"matches"`
			KeyFile      string `json:"key_file"`
			PreviousKeys int    `json:"previous_keys"`
			FirstUse     bool   `json:"first_use"`
		}{true, x.keyFile, len(x.previous), x.firstKey}
		if d.json {
			return c.writeJSON(out)
		}
		if x.firstKey {
			fmt.Fprintf(c.stdout, "%s remembered no key: it now remembers the key in %s\n", x.where, x.keyFile)
		} else {
			fmt.Fprintf(c.stdout, "the key in %s matches %s\n", x.keyFile, x.where)
		}
		if len(x.previous) > 0 {
			fmt.Fprintf(c.stdout, "%d previous key(s) in %s\n", len(x.previous), keyfile.PreviousPath(x.keyFile))
		}
		return nil
	})
}

func (c *cli) keyRotate(ctx context.Context, args []string) error {
	fl, d := c.newFlags("key rotate")
	pos, err := c.parse(fl, args)
	if err != nil {
		return err
	}
	if err := noArgs("key rotate", pos); err != nil {
		return err
	}
	return c.withDB(ctx, d, existing, func(ctx context.Context, x *db) error {
		// The files first, then the database: stopped in between, the
		// database still remembers the old key, which the next run finds
		// among the previous ones.
		key, previous, err := keyfile.Rotate(x.keyFile)
		if err != nil {
			return fmt.Errorf("rotate the key: %w", err)
		}
		x.previous = previous
		if err := x.start(ctx, key); err != nil {
			return err
		}
		prevFile := keyfile.PreviousPath(x.keyFile)
		if d.json {
			return c.writeJSON(struct {
				KeyFile      string `json:"key_file"`
				PreviousFile string `json:"previous_file"`
				PreviousKeys int    `json:"previous_keys"`
			}{x.keyFile, prevFile, len(previous)})
		}
		fmt.Fprintf(c.stdout, "new key in %s; the old one added to %s (%d previous key(s))\n", x.keyFile, prevFile, len(previous))
		fmt.Fprintf(c.stdout, "%s now remembers the new key: restart every server with both files\n", x.where)
		return nil
	})
}

func (c *cli) migrate(ctx context.Context, args []string) error {
	fl, d := c.newFlags("migrate")
	pos, err := c.parse(fl, args)
	if err != nil {
		return err
	}
	if err := noArgs("migrate", pos); err != nil {
		return err
	}
	return c.withDB(ctx, d, storeOnly, func(ctx context.Context, x *db) error {
		if d.json {
			return c.writeJSON(struct {
				UpToDate bool `json:"up_to_date"`
			}{true})
		}
		_, err := fmt.Fprintf(c.stdout, "%s is migrated and up to date\n", x.where)
		return err
	})
}

func (c *cli) bootstrap(ctx context.Context, args []string) error {
	fl, d := c.newFlags("bootstrap")
	var (
		out  string
		user int64
	)
	fl.StringVar(&out, "out", "", "`file` to write the bootstrap token to (created with mode 0600; never overwritten)")
	fl.Int64Var(&user, "user", 1, "user `ID` of the host's administrator who owns the token")
	pos, err := c.parse(fl, args)
	if err != nil {
		return err
	}
	if err := noArgs("bootstrap", pos); err != nil {
		return err
	}
	if out == "" {
		return usagef("bootstrap needs --out FILE")
	}
	if user <= 0 || user >= hostUserIDs {
		return usagef("--user: user IDs are between 1 and 2^40-1")
	}
	return c.withDB(ctx, d, creating, func(ctx context.Context, x *db) error {
		x.dir.admins[user] = true // the operator says so: the token has admin scopes
		log := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		created, err := bootstrap.Ensure(ctx, x.svc, x.op, user, out, log)
		if err != nil {
			return err
		}
		if d.json {
			return c.writeJSON(struct {
				File    string `json:"file"`
				UserID  int64  `json:"user_id"`
				Created bool   `json:"created"`
			}{out, user, created})
		}
		if created {
			fmt.Fprintf(c.stdout, "wrote a new bootstrap token of user %d to %s (any other was revoked)\n", user, out)
		} else {
			fmt.Fprintf(c.stdout, "%s already holds the active bootstrap token of user %d\n", out, user)
		}
		return nil
	})
}

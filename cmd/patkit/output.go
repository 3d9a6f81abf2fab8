package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/patkit/patkit"
)

// tokenJSON is a token as --json prints it. It has no digest, and a
// secret only when the command just created it.
type tokenJSON struct {
	ID           int64      `json:"id"`
	Kind         string     `json:"kind"` // personal, impersonation, project or group
	UserID       int64      `json:"user_id"`
	ResourceType string     `json:"resource_type,omitempty"`
	ResourceID   int64      `json:"resource_id,omitempty"`
	AccessLevel  int        `json:"access_level,omitempty"`
	Name         string     `json:"name"`
	Description  string     `json:"description"`
	Scopes       []string   `json:"scopes"`
	State        string     `json:"state"` // active, expired or revoked
	Revoked      bool       `json:"revoked"`
	Active       bool       `json:"active"`
	CreatedAt    time.Time  `json:"created_at"`
	ExpiresAt    *string    `json:"expires_at"` // YYYY-MM-DD, null for never
	LastUsedAt   *time.Time `json:"last_used_at"`
	LastUsedIPs  []string   `json:"last_used_ips"`
	PreviousID   int64      `json:"previous_id,omitempty"`
	Token        string     `json:"token,omitempty"`
}

func state(now time.Time, t *patkit.Token) string {
	switch {
	case t.Revoked:
		return "revoked"
	case t.Expired(now):
		return "expired"
	}
	return "active"
}

func toJSON(now time.Time, t *patkit.Token, secret string) tokenJSON {
	j := tokenJSON{
		ID: t.ID, Kind: string(t.Kind()), UserID: t.UserID,
		ResourceType: string(t.ResourceType), ResourceID: t.ResourceID,
		Name: t.Name, Description: t.Description, Scopes: make([]string, len(t.Scopes)),
		State: state(now, t), Revoked: t.Revoked, Active: t.Active(now),
		CreatedAt: t.CreatedAt.UTC(), LastUsedIPs: append([]string{}, t.LastUsedIPs...),
		PreviousID: t.PreviousID, Token: secret,
	}
	if t.ResourceType != "" {
		j.AccessLevel = int(t.AccessLevel)
	}
	for i, s := range t.Scopes {
		j.Scopes[i] = string(s)
	}
	if !t.ExpiresAt.IsZero() {
		s := t.ExpiresAt.Format(time.DateOnly)
		j.ExpiresAt = &s
	}
	if !t.LastUsedAt.IsZero() {
		u := t.LastUsedAt.UTC()
		j.LastUsedAt = &u
	}
	return j
}

func (c *cli) writeJSON(v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (c *cli) printPage(now time.Time, p *patkit.Page, asJSON bool) error {
	if asJSON {
		out := struct {
			Tokens  []tokenJSON `json:"tokens"`
			Page    int         `json:"page"`
			PerPage int         `json:"per_page"`
			Total   int         `json:"total"` // -1: more than 10,000
		}{Tokens: []tokenJSON{}, Page: p.Page, PerPage: p.PerPage, Total: p.Total}
		for _, t := range p.Tokens {
			out.Tokens = append(out.Tokens, toJSON(now, t, ""))
		}
		return c.writeJSON(out)
	}
	w := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tKIND\tUSER\tNAME\tSCOPES\tEXPIRES\tLAST USED\tSTATE")
	for _, t := range p.Tokens {
		fmt.Fprintf(w, "%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", t.ID, kindText(t), t.UserID, oneLine(t.Name),
			scopesText(t.Scopes), dateText(t.ExpiresAt, "never"), timeText(t.LastUsedAt), state(now, t))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	// Where the page stands goes to standard error, out of a pipe's way.
	switch {
	case p.Total == 0:
		fmt.Fprintln(c.stderr, "no tokens")
	case p.Total < 0:
		fmt.Fprintf(c.stderr, "page %d, more than %d tokens\n", p.Page, patkit.MaxCount)
	case p.HasNext():
		fmt.Fprintf(c.stderr, "page %d of %d (%d tokens): --page %d for more\n", p.Page, p.TotalPages(), p.Total, p.Page+1)
	}
	return nil
}

func (c *cli) printToken(now time.Time, t *patkit.Token, secret string, asJSON bool) error {
	if asJSON {
		return c.writeJSON(toJSON(now, t, secret))
	}
	w := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(w, "%s\t%s\n", k, v) }
	row("id", strconv.FormatInt(t.ID, 10))
	row("kind", kindText(t))
	row("user", strconv.FormatInt(t.UserID, 10))
	if t.ResourceType != "" {
		row("access level", strconv.Itoa(int(t.AccessLevel)))
	}
	row("name", oneLine(t.Name))
	if t.Description != "" {
		row("description", oneLine(t.Description))
	}
	row("scopes", scopesText(t.Scopes))
	row("state", state(now, t))
	row("created", t.CreatedAt.UTC().Format(time.RFC3339))
	row("expires", dateText(t.ExpiresAt, "never"))
	row("last used", timeText(t.LastUsedAt))
	if len(t.LastUsedIPs) > 0 {
		row("last used from", strings.Join(t.LastUsedIPs, ", "))
	}
	if t.PreviousID != 0 {
		row("rotated from", strconv.FormatInt(t.PreviousID, 10))
	}
	if secret != "" {
		row("token", secret)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if secret != "" {
		fmt.Fprintln(c.stderr, "patkit: the token is shown once: store it now")
	}
	return nil
}

func (c *cli) printRevoked(now time.Time, t *patkit.Token, asJSON bool) error {
	if asJSON {
		return c.writeJSON(toJSON(now, t, ""))
	}
	_, err := fmt.Fprintf(c.stdout, "revoked token %d (%s %q of user %d)\n", t.ID, kindText(t), oneLine(t.Name), t.UserID)
	return err
}

func kindText(t *patkit.Token) string {
	if t.ResourceType != "" {
		return string(t.ResourceType) + " " + strconv.FormatInt(t.ResourceID, 10)
	}
	return string(t.Kind())
}

func scopesText(s []patkit.Scope) string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = string(x)
	}
	return strings.Join(out, ",")
}

func dateText(t time.Time, zero string) string {
	if t.IsZero() {
		return zero
	}
	return t.Format(time.DateOnly)
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

// oneLine keeps a name on its table row: control characters become
// spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// describe turns an error into the one line the CLI prints.
func describe(err error) string {
	var pe *patkit.Error
	if errors.As(err, &pe) {
		switch {
		case errors.Is(pe.Code, patkit.ErrInvalid) && len(pe.Fields) > 0:
			return "refused: " + pe.Sentence()
		case errors.Is(pe.Code, patkit.ErrNotFound):
			if pe.Message == "" || strings.EqualFold(pe.Message, "not found") {
				return "not found"
			}
			return "not found: " + pe.Message
		case pe.Message != "":
			return "refused: " + pe.Message
		}
	}
	return strings.TrimPrefix(err.Error(), "patkit: ")
}

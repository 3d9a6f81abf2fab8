package patkit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Notice is one of the expiry notices GitLab sends a token's owner: 60,
// 30 and 7 days before the token expires, and once it has expired. They
// are ordered: a later notice has a larger value.
type Notice int

// The expiry notices, in the order they fall due.
const (
	NoticeSixtyDays  Notice = 1 // 60 days or less before expiry
	NoticeThirtyDays Notice = 2 // 30 days or less
	NoticeSevenDays  Notice = 3 // 7 days or less
	NoticeExpired    Notice = 4 // expired
)

// String returns the name of n as GitLab's columns spell it:
// "sixty_days", "thirty_days", "seven_days" or "after_expiry"; "" for 0.
func (n Notice) String() string {
	switch n {
	case NoticeSixtyDays:
		return "sixty_days"
	case NoticeThirtyDays:
		return "thirty_days"
	case NoticeSevenDays:
		return "seven_days"
	case NoticeExpired:
		return "after_expiry"
	}
	return ""
}

// Days returns how many days before expiry n falls due: 60, 30, 7, or 0
// for NoticeExpired.
func (n Notice) Days() int {
	switch n {
	case NoticeSixtyDays:
		return 60
	case NoticeThirtyDays:
		return 30
	case NoticeSevenDays:
		return 7
	}
	return 0
}

// ExpiryNotices records when each expiry notice of a token was claimed
// (Service.SendExpiryNotices), the zero Time for a notice not sent. They
// are GitLab's columns of personal_access_tokens, which its admin token
// API documentation shows: SixtyDays is sixty_days_notification_sent_at,
// ThirtyDays thirty_days_notification_sent_at, SevenDays
// seven_days_notification_sent_at (its expire_notification_delivered is
// SevenDays being set) and Expired after_expiry_notification_delivered
// (set). A notice whose time passed before the token was first looked at
// is skipped and stays zero. The SQL stores keep them in columns of those
// names. httpapi renders them where GitLab's token information API
// documentation shows them, in the answer of POST /api/v4/admin/token
// (GitLab's own code does not emit them there).
type ExpiryNotices struct {
	SixtyDays, ThirtyDays, SevenDays, Expired time.Time
}

// At returns when notice n was claimed, or the zero Time.
func (e *ExpiryNotices) At(n Notice) time.Time {
	switch n {
	case NoticeSixtyDays:
		return e.SixtyDays
	case NoticeThirtyDays:
		return e.ThirtyDays
	case NoticeSevenDays:
		return e.SevenDays
	case NoticeExpired:
		return e.Expired
	}
	return time.Time{}
}

// Set records that notice n was claimed at t.
func (e *ExpiryNotices) Set(n Notice, t time.Time) {
	switch n {
	case NoticeSixtyDays:
		e.SixtyDays = t
	case NoticeThirtyDays:
		e.ThirtyDays = t
	case NoticeSevenDays:
		e.SevenDays = t
	case NoticeExpired:
		e.Expired = t
	}
}

// Last returns the latest notice claimed, or 0 if none was.
func (e *ExpiryNotices) Last() Notice {
	for n := NoticeExpired; n >= NoticeSixtyDays; n-- {
		if !e.At(n).IsZero() {
			return n
		}
	}
	return 0
}

// NoticeClaimer is an optional ability of a Store, which
// Service.SendExpiryNotices needs: claiming the expiry notices that fall
// due, atomically, so that of several Services on one database exactly
// one sends each notice of each token. memstore, sqlitestore and pgstore
// have it.
type NoticeClaimer interface {
	// ClaimNotices claims notice n for up to limit tokens that are not
	// revoked, whose ExpiresAt is set, after `after` (without a lower
	// bound when after is the zero Time) and not after until, and whose
	// latest notice claimed (Notices.Last) comes before n: it sets their
	// Notices.At(n) to at and returns them as stored after the change,
	// in increasing ID order. Which of more than limit such tokens it
	// claims is the store's choice.
	//
	// It is atomic: a token is claimed by exactly one call, however many
	// calls run at once through any number of handles on one database,
	// and a call that returns an error claims nothing. The error contract
	// is Store's: a done ctx, or a closed store, returns an error and
	// claims nothing.
	ClaimNotices(ctx context.Context, n Notice, after, until, at time.Time, limit int) ([]*Token, error)
}

// noticeBatch is how many tokens SendExpiryNotices claims at once.
const noticeBatch = 100

// SendExpiryNotices emits the expiry notices that are due, and returns
// how many it emitted: EventExpiringSoon when a token's expiry is 60, 30
// or 7 days away or less, and EventExpired once it has expired, each once
// per token and notice. Call it periodically (examples/server does every
// minute); several instances on one database may call it at once. Only
// the notice whose window holds the token is sent, as GitLab's
// notification workers do: a token is in the 60-day window when it
// expires in more than 30 and at most 60 days, in the 30-day one in more
// than 7 and at most 30, in the 7-day one in at most 7 (expires_at within
// the next 7 dates, UTC), and expired from its expiry on. So a token
// created 5 days before its expiry gets the 7-day notice and not the 60-
// and 30-day ones, and a token that expired while no instance called
// SendExpiryNotices gets only the expired notice. Revoked tokens and
// tokens without expiry get none. GitLab skips impersonation tokens;
// patkit notices them too (Event.Token.Impersonation tells them).
//
// Each notice is claimed in the Store before it is emitted (see
// NoticeClaimer), so it is emitted at most once whatever the instances;
// it is lost if the process stops between the claim and the delivery.
// SendExpiryNotices waits for room in the event buffer rather than
// dropping a notice it claimed, until ctx ends: then it returns ctx's
// error, and the notices claimed and not queued are counted in
// EventStats.Dropped.
//
// Without Options.OnEvent it does nothing and returns 0. A Store that is
// not a NoticeClaimer gets an error wrapping errors.ErrUnsupported.
func (s *Service) SendExpiryNotices(ctx context.Context) (int, error) {
	if s.events == nil {
		return 0, nil
	}
	nc, ok := s.store.(NoticeClaimer)
	if !ok {
		return 0, fmt.Errorf("patkit: expiry notices: the store cannot claim them: %w", errors.ErrUnsupported)
	}
	now := s.now()
	day := 24 * time.Hour
	windows := []struct {
		n            Notice
		after, until time.Time
	}{
		{NoticeSixtyDays, now.Add(30 * day), now.Add(60 * day)},
		{NoticeThirtyDays, now.Add(7 * day), now.Add(30 * day)},
		{NoticeSevenDays, now, now.Add(7 * day)},
		{NoticeExpired, time.Time{}, now},
	}
	sent := 0
	for _, w := range windows {
		for {
			toks, err := nc.ClaimNotices(ctx, w.n, w.after, w.until, now, noticeBatch)
			if err != nil {
				return sent, fmt.Errorf("patkit: expiry notices: %w", err)
			}
			typ := EventExpiringSoon
			if w.n == NoticeExpired {
				typ = EventExpired
			}
			for _, t := range toks {
				t.Digest = nil
				if s.events.push(ctx, Event{Type: typ, Token: t, Notice: w.n}, true) {
					sent++
				}
			}
			if err := ctx.Err(); err != nil {
				return sent, err
			}
			if len(toks) < noticeBatch {
				break
			}
		}
	}
	return sent, nil
}

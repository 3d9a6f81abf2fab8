package httpapi

import (
	"time"

	"github.com/patkit/patkit"
)

// entity is every token entity of GitLab's API, fields in GitLab's order. The
// optional fields are pointers left nil (and omitted) by the entities that
// lack them.
type entity struct {
	ID          int64          `json:"id"`
	Name        string         `json:"name"`
	Revoked     bool           `json:"revoked"`
	CreatedAt   timestamp      `json:"created_at"`
	Description *string        `json:"description"`
	Scopes      []patkit.Scope `json:"scopes"`
	UserID      int64          `json:"user_id"`
	LastUsedAt  *timestamp     `json:"last_used_at"`
	Active      bool           `json:"active"`
	Granular    bool           `json:"granular"`
	ExpiresAt   *date          `json:"expires_at"`

	LastUsedIPs *[]string `json:"last_used_ips,omitempty"`

	Impersonation *bool   `json:"impersonation,omitempty"`
	AccessLevel   *int    `json:"access_level,omitempty"`
	ResourceType  *string `json:"resource_type,omitempty"`
	ResourceID    *int64  `json:"resource_id,omitempty"`

	// AllowedCIDRs is patkit's own field, present only for a token bound
	// to networks.
	AllowedCIDRs []string `json:"allowed_cidrs,omitempty"`

	// The expiry notice fields, in POST /admin/token's answer only (nil,
	// and absent, elsewhere).
	*noticeFields

	Token *string `json:"token,omitempty"`
}

// noticeFields are the expiry notices of a token (patkit.Token.Notices)
// under the names of GitLab's columns, which its token information API
// documentation shows: an extension of patkit's there, since GitLab's
// code does not render them.
type noticeFields struct {
	ExpireNotificationDelivered      bool       `json:"expire_notification_delivered"`
	SevenDaysNotificationSentAt      *timestamp `json:"seven_days_notification_sent_at"`
	ThirtyDaysNotificationSentAt     *timestamp `json:"thirty_days_notification_sent_at"`
	SixtyDaysNotificationSentAt      *timestamp `json:"sixty_days_notification_sent_at"`
	AfterExpiryNotificationDelivered bool       `json:"after_expiry_notification_delivered"`
}

// entityKind selects which of GitLab's token entities an endpoint renders.
type entityKind int

const (
	kindBase          entityKind = iota // PersonalAccessToken
	kindWithIPs                         // PersonalAccessTokenWithLastUsedIps
	kindImpersonation                   // ImpersonationToken
	kindResource                        // ResourceAccessToken
	kindAdminToken                      // PersonalAccessToken and the expiry notices
)

// timestamp is a time rendered as GitLab renders datetimes: UTC with
// milliseconds and Z.
type timestamp time.Time

// MarshalText, rather than MarshalJSON, lets encoding/json write the
// string itself instead of parsing what a MarshalJSON returns.
func (t timestamp) MarshalText() ([]byte, error) {
	return time.Time(t).UTC().AppendFormat(make([]byte, 0, 32), timestampLayout), nil
}

// date is a date rendered YYYY-MM-DD.
type date time.Time

func (d date) MarshalText() ([]byte, error) {
	return time.Time(d).UTC().AppendFormat(make([]byte, 0, 16), time.DateOnly), nil
}

// entityValues are what the optional fields of an entity point to, held
// apart so that the entities of a page allocate them all together.
type entityValues struct {
	description string
	lastUsedAt  timestamp
	expiresAt   date
	ips         []string

	impersonation bool
	accessLevel   int
	resourceType  string
	resourceID    int64
}

// render returns the entity of t as kind renders it at now, its optional
// fields pointing into v; a non-empty secret adds the token field (the
// *WithToken entities of create and rotate). It returns the entity rather
// than filling one, so that an entity and its values may stay on the
// stack.
func render(t *patkit.Token, kind entityKind, secret string, now time.Time, v *entityValues) (e entity) {
	e = entity{
		ID:        t.ID,
		Name:      t.Name,
		Revoked:   t.Revoked,
		CreatedAt: timestamp(t.CreatedAt),
		Scopes:    t.Scopes,
		UserID:    t.UserID,
		Active:    t.Active(now),
	}
	if e.Scopes == nil {
		e.Scopes = []patkit.Scope{}
	}
	if t.Description != "" {
		v.description = t.Description
		e.Description = &v.description
	}
	if !t.LastUsedAt.IsZero() {
		v.lastUsedAt = timestamp(t.LastUsedAt)
		e.LastUsedAt = &v.lastUsedAt
	}
	if !t.ExpiresAt.IsZero() {
		v.expiresAt = date(t.ExpiresAt)
		e.ExpiresAt = &v.expiresAt
	}
	if kind == kindAdminToken {
		n := t.Notices
		e.noticeFields = &noticeFields{
			ExpireNotificationDelivered:      !n.SevenDays.IsZero(),
			SevenDaysNotificationSentAt:      optTime(n.SevenDays),
			ThirtyDaysNotificationSentAt:     optTime(n.ThirtyDays),
			SixtyDaysNotificationSentAt:      optTime(n.SixtyDays),
			AfterExpiryNotificationDelivered: !n.Expired.IsZero(),
		}
	}
	if kind != kindBase && kind != kindAdminToken || secret != "" {
		v.ips = t.LastUsedIPs
		if v.ips == nil {
			v.ips = []string{}
		}
		e.LastUsedIPs = &v.ips
	}
	switch kind {
	case kindImpersonation:
		v.impersonation = t.Impersonation
		e.Impersonation = &v.impersonation
	case kindResource:
		v.accessLevel, v.resourceType, v.resourceID = int(t.AccessLevel), string(t.ResourceType), t.ResourceID
		e.AccessLevel, e.ResourceType, e.ResourceID = &v.accessLevel, &v.resourceType, &v.resourceID
	}
	if len(t.AllowedCIDRs) > 0 {
		e.AllowedCIDRs = make([]string, len(t.AllowedCIDRs))
		for i, p := range t.AllowedCIDRs {
			e.AllowedCIDRs[i] = p.String()
		}
	}
	if secret != "" {
		e.Token = new(secret)
	}
	return e
}

// entityPage is a page of tokens as kind renders them at now: a JSON
// array of their entities, each rendered on the stack as it is written
// (see appendJSON), none held in memory.
type entityPage struct {
	toks []*patkit.Token
	kind entityKind
	now  time.Time
}

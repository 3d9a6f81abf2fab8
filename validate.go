package patkit

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// validateFilter checks what a list query may ask.
func validateFilter(f *Filter) error {
	switch f.State {
	case StateAny, StateActive, StateInactive:
	default:
		return invalid(FieldError{"state", "does not have a valid value"})
	}
	if f.Kind != "" && !f.Kind.Valid() {
		return invalid(FieldError{"kind", "does not have a valid value"})
	}
	switch {
	case !ValidText(f.Search):
		return invalid(FieldError{"search", "is invalid"})
	case utf8.RuneCountInString(f.Search) > MaxSearchLen:
		return invalid(FieldError{"search", fmt.Sprintf("is too long (maximum is %d characters)", MaxSearchLen)})
	case len(ParseSearch(f.Search).Words) > MaxSearchTerms:
		return invalid(FieldError{"search", fmt.Sprintf("is too long (maximum is %d terms)", MaxSearchTerms)})
	}
	return nil
}

// ValidText reports whether s is valid UTF-8 without NUL characters: text
// every Store keeps as it is (PostgreSQL refuses both). The Service refuses
// names, descriptions and searches that are not, and package httpapi any
// parameter, as GitLab does.
func ValidText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// newToken validates o as GitLab's model does and returns the token to
// create for u, without secret.
func (s *Service) newToken(u *User, o TokenOptions, allowed []Scope, defaultExpiry bool) (*Token, error) {
	now := s.now()
	today := Date(now)
	var errs []FieldError
	if strings.TrimSpace(o.Name) == "" {
		errs = append(errs, FieldError{"name", "can't be blank"})
	} else if !ValidText(o.Name) {
		errs = append(errs, FieldError{"name", "is invalid"})
	} else if utf8.RuneCountInString(o.Name) > 255 {
		errs = append(errs, FieldError{"name", "is too long (maximum is 255 characters)"})
	}
	if !ValidText(o.Description) {
		errs = append(errs, FieldError{"description", "is invalid"})
	} else if utf8.RuneCountInString(o.Description) > 255 {
		errs = append(errs, FieldError{"description", "is too long (maximum is 255 characters)"})
	}
	scopes := dedupe(o.Scopes)
	scopesOK := false
	if len(scopes) == 0 {
		errs = append(errs, FieldError{"scopes", "can't be blank"})
	} else if !subset(scopes, allowed) {
		errs = append(errs, FieldError{"scopes", "can only contain available scopes"})
	} else {
		scopesOK = true
	}
	var exp time.Time
	switch {
	case !o.ExpiresAt.IsZero():
		var fe *FieldError
		if exp, fe = s.expiry(o.ExpiresAt, today); fe != nil {
			errs = append(errs, *fe)
		}
	case s.opts.AllowNoExpiry:
	case defaultExpiry:
		exp = today.AddDate(0, 0, s.opts.MaxLifetimeDays)
	default:
		errs = append(errs, FieldError{"expires_at", "can't be blank"})
	}
	cidrs, fe := checkCIDRs(o.AllowedCIDRs)
	if fe != nil {
		errs = append(errs, *fe)
	}
	if scopesOK && !u.Admin {
		for _, sc := range scopes {
			if AdminScope(sc) {
				errs = append(errs, FieldError{"base", fieldLabel(string(sc)) + " can only be enabled for administrators"})
			}
		}
	}
	if len(errs) > 0 {
		return nil, invalid(errs...)
	}
	return &Token{
		UserID:       u.ID,
		Name:         o.Name,
		Description:  o.Description,
		Scopes:       scopes,
		CreatedAt:    now,
		ExpiresAt:    exp,
		AllowedCIDRs: cidrs,
	}, nil
}

// expiry returns the expiry date that t, a requested expiry that is not
// the zero Time, asks for: its date in UTC, at most today +
// MaxLifetimeDays unless AllowNoExpiry. Past dates are accepted, as in
// GitLab: any from 0000-01-01 to 9999-12-31, the dates YYYY-MM-DD can
// write (sqlitestore's microseconds would wrap some 290,000 years away),
// but 0001-01-01, the zero Time's date: a Token whose ExpiresAt is zero
// never expires.
func (s *Service) expiry(t, today time.Time) (time.Time, *FieldError) {
	exp := Date(t)
	if y := exp.Year(); exp.IsZero() || y < 0 || y > 9999 {
		return exp, &FieldError{"expires_at", "is invalid"}
	}
	if s.opts.AllowNoExpiry {
		return exp, nil
	}
	limit := today.AddDate(0, 0, s.opts.MaxLifetimeDays)
	if exp.After(limit) {
		return exp, &FieldError{"expires_at", "must be before " + limit.Format(time.DateOnly)}
	}
	return exp, nil
}

func dedupe(in []Scope) []Scope {
	var out []Scope
	for _, s := range in {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func subset(a, b []Scope) bool {
	for _, s := range a {
		if !slices.Contains(b, s) {
			return false
		}
	}
	return true
}

package webui

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/patkit/patkit"
)

// adminPage is the data of the inventory of every token.
type adminPage struct {
	layout
	Search, Username, State string
	Kind                    string
	Expiring                bool
	States, Kinds           []choice
	Rows                    []row
	Total                   string
	Errors                  map[string]string
	Prev, Next              string // links to the neighbouring pages
	Page                    int
}

// admin serves the inventory: every token of the instance, for
// administrators only (404 for everyone else, as the API hides it).
func (c *call) admin() {
	if !c.p.Admin() {
		c.refused(patkit.ErrNotFound)
		return
	}
	q := c.r.URL.Query()
	pg := &adminPage{
		layout:   c.h.layout(c.p, "Credentials inventory", "admin"),
		Search:   q.Get("search"),
		Username: strings.TrimSpace(q.Get("user")),
		State:    q.Get("state"),
		Kind:     q.Get("kind"),
		Expiring: q.Get("expiring") == "1",
		Errors:   map[string]string{},
	}
	f := patkit.Filter{Search: pg.Search, Sort: patkit.SortCreatedDesc, PerPage: 20}
	switch pg.State {
	case "", "active":
		pg.State, f.State = "active", patkit.StateActive
	case "inactive":
		f.State = patkit.StateInactive
	case "all":
	default:
		pg.Errors["state"] = "State does not have a valid value"
	}
	for _, s := range []string{"active", "inactive", "all"} {
		pg.States = append(pg.States, choice{Value: s, Label: strings.ToUpper(s[:1]) + s[1:], Checked: s == pg.State})
	}
	f.Kind = patkit.Kind(pg.Kind) // checked by the Service
	pg.Kinds = append(pg.Kinds, choice{Value: "", Label: "Any", Checked: pg.Kind == ""})
	for _, k := range []patkit.Kind{patkit.KindPersonal, patkit.KindImpersonation, patkit.KindProject, patkit.KindGroup} {
		pg.Kinds = append(pg.Kinds, choice{Value: string(k), Label: kindLabel(k), Checked: string(k) == pg.Kind})
	}
	now := c.h.svc.Now()
	if pg.Expiring {
		f.State, f.Sort = patkit.StateActive, patkit.SortExpiresAsc
		f.ExpiresBefore = patkit.Date(now).Add(soon + 24*time.Hour)
	}
	f.Page, _ = strconv.Atoi(q.Get("page"))
	f.Page = max(f.Page, 1)
	pg.Page = f.Page

	var userID int64
	if pg.Username != "" {
		users, err := c.h.svc.Users(c.r.Context(), c.p, patkit.UserQuery{Username: pg.Username})
		if err != nil {
			c.refused(err)
			return
		}
		if len(users.Users) == 0 {
			pg.Errors["user"] = "User " + pg.Username + " does not exist"
		} else {
			userID = users.Users[0].ID
		}
	}
	if len(pg.Errors) > 0 {
		c.h.render(c.w, c.r, "admin", http.StatusUnprocessableEntity, pg)
		return
	}
	var (
		page *patkit.Page
		err  error
	)
	if userID != 0 {
		page, err = c.h.svc.ListUserTokens(c.r.Context(), c.p, userID, f)
	} else {
		page, err = c.h.svc.ListTokens(c.r.Context(), c.p, f)
	}
	var e *patkit.Error
	if errors.As(err, &e) && errors.Is(err, patkit.ErrInvalid) {
		for _, fe := range e.Fields {
			pg.Errors[fe.Field] = fe.FullMessage()
		}
		c.h.render(c.w, c.r, "admin", http.StatusUnprocessableEntity, pg)
		return
	}
	if err != nil {
		c.refused(err)
		return
	}
	owners := map[int64]string{}
	for _, t := range page.Tokens {
		r := c.row(t, now)
		r.Owner = c.ownerName(t, owners)
		pg.Rows = append(pg.Rows, r)
	}
	switch {
	case page.Total < 0:
		pg.Total = "more than " + strconv.Itoa(patkit.MaxCount) + " tokens"
	case page.Total == 1:
		pg.Total = "1 token"
	default:
		pg.Total = strconv.Itoa(page.Total) + " tokens"
	}
	link := func(n int) string {
		v := url.Values{}
		for _, k := range []string{"search", "user", "state", "kind", "expiring"} {
			if q.Get(k) != "" {
				v.Set(k, q.Get(k))
			}
		}
		v.Set("page", strconv.Itoa(n))
		return AdminPath + "?" + v.Encode()
	}
	if f.Page > 1 {
		pg.Prev = link(f.Page - 1)
	}
	if page.HasNext() {
		pg.Next = link(f.Page + 1)
	}
	c.h.render(c.w, c.r, "admin", http.StatusOK, pg)
}

package webui

import (
	"crypto/rand"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patkit/patkit"
)

// call is one request to a page, by a signed-in principal.
type call struct {
	h  *handler
	w  http.ResponseWriter
	r  *http.Request
	p  *patkit.Principal
	rt route
}

// tokensPage is the data of a token list with its create form: a user's
// personal access tokens, or a project's or group's access tokens.
type tokensPage struct {
	layout
	Kind     string // "personal", "project", "group"
	Noun     string // "Personal access tokens"
	Resource string // the project's or group's path
	Base     string // this page's path
	Notice   string

	Active, Inactive []row
	More             bool // more inactive tokens than shown

	CanCreate bool
	Refusal   string // why the form is not shown
	FormID    string // a new one on every page: see sentForms
	Form      form
	Scopes    []choice
	Levels    []choice
	MinDate   string
	MaxDate   string // empty: no limit
	Errors    []string

	NewToken  *row
	NewSecret string
}

// form is what was typed into the create form, and the errors by field.
type form struct {
	Name, Description, ExpiresAt string
	Scopes                       []string
	Level                        string
	Err                          map[string]string
}

// choice is a checkbox or an option.
type choice struct {
	Value, Label, Help string
	Checked            bool
}

// noun names the kind of token of a page.
func (c *call) noun() string {
	switch c.rt.kind {
	case "project":
		return "Project access tokens"
	case "group":
		return "Group access tokens"
	}
	return "Personal access tokens"
}

func (c *call) resourceType() patkit.ResourceType {
	if c.rt.kind == "group" {
		return patkit.ResourceGroup
	}
	return patkit.ResourceProject
}

// tokens serves the list page: GET shows it, POST creates a token.
func (c *call) tokens() {
	if c.r.Method != http.MethodPost {
		pg, ok := c.page(form{})
		if ok {
			pg.Notice = notices[c.r.URL.Query().Get("notice")]
			c.h.render(c.w, c.r, "tokens", http.StatusOK, pg)
		}
		return
	}
	f := form{
		Name:        c.r.PostForm.Get("name"),
		Description: c.r.PostForm.Get("description"),
		ExpiresAt:   strings.TrimSpace(c.r.PostForm.Get("expires_at")),
		Scopes:      c.r.PostForm["scopes"],
		Level:       c.r.PostForm.Get("access_level"),
		Err:         map[string]string{},
	}
	o := patkit.TokenOptions{Name: f.Name, Description: f.Description}
	for _, s := range f.Scopes {
		o.Scopes = append(o.Scopes, patkit.Scope(s))
	}
	var bad []patkit.FieldError
	if f.ExpiresAt != "" {
		d, err := time.Parse(time.DateOnly, f.ExpiresAt)
		// The zero Time, 0001-01-01, asks the Service for the default.
		if err != nil || d.IsZero() {
			bad = append(bad, patkit.FieldError{Field: "expires_at", Message: "is invalid"})
		}
		o.ExpiresAt = d
	}
	if c.rt.kind != "personal" {
		l, err := strconv.Atoi(f.Level)
		if err != nil {
			bad = append(bad, patkit.FieldError{Field: "access_level", Message: "does not have a valid value"})
		}
		o.AccessLevel = patkit.AccessLevel(l)
	}
	formID := c.r.PostForm.Get("form_id")
	if !c.h.sent.claim(formID) {
		c.h.fail(c.w, c.r, c.p, http.StatusConflict, "This form was already sent",
			"The token of this form was already created, and its secret shown once; nothing was created again. Its secret cannot be shown again: rotate the token if it was not saved.")
		return
	}
	var (
		tok    *patkit.Token
		secret string
		err    error
	)
	switch {
	case len(bad) > 0:
		err = &patkit.Error{Code: patkit.ErrInvalid, Fields: bad}
	case c.rt.kind == "personal":
		tok, secret, err = c.h.svc.CreatePersonalToken(c.r.Context(), c.p, o)
	default:
		tok, secret, err = c.h.svc.CreateResourceToken(c.r.Context(), c.p, c.resourceType(), c.rt.ref, o)
	}
	if err != nil {
		c.h.sent.release(formID)
		c.formError(f, err)
		return
	}
	c.showSecret(tok, secret, "Your new "+strings.ToLower(c.noun()[:len(c.noun())-1])+" has been created.")
}

// formError re-renders the form with what was typed and the errors next
// to their fields, or answers a refusal.
func (c *call) formError(f form, err error) {
	var e *patkit.Error
	if !errors.As(err, &e) || (!errors.Is(err, patkit.ErrInvalid) && !errors.Is(err, patkit.ErrBadRequest)) {
		c.refused(err)
		return
	}
	pg, ok := c.page(f)
	if !ok {
		return
	}
	pg.Form.Err = map[string]string{}
	for _, fe := range e.Fields {
		if fe.Field == "base" || pg.Form.Err[fe.Field] != "" {
			pg.Errors = append(pg.Errors, fe.FullMessage())
			continue
		}
		pg.Form.Err[fe.Field] = fe.FullMessage()
		pg.Errors = append(pg.Errors, fe.FullMessage())
	}
	if len(e.Fields) == 0 {
		pg.Errors = append(pg.Errors, e.Message)
	}
	c.h.render(c.w, c.r, "tokens", http.StatusUnprocessableEntity, pg)
}

// showSecret renders the list with the new secret, once: straight in the
// POST's response, never redirected through a URL.
func (c *call) showSecret(tok *patkit.Token, secret, notice string) {
	pg, ok := c.page(form{})
	if !ok {
		return
	}
	r := c.row(tok, c.h.svc.Now())
	pg.NewToken, pg.NewSecret, pg.Notice = &r, secret, notice
	c.h.render(c.w, c.r, "tokens", http.StatusOK, pg)
}

// refused answers a refusal by the Service: a resource or token the
// principal may not see (or no longer may) is 404, as in the API.
func (c *call) refused(err error) {
	var e *patkit.Error
	switch {
	case errors.Is(err, patkit.ErrNotFound), errors.Is(err, patkit.ErrUnauthorized):
		c.h.fail(c.w, c.r, c.p, http.StatusNotFound, "Not found", "This page does not exist, or you may not see it.")
	case errors.As(err, &e) && (errors.Is(err, patkit.ErrBadRequest) || errors.Is(err, patkit.ErrForbidden) || errors.Is(err, patkit.ErrInvalid)):
		msg := e.Message
		if len(e.Fields) > 0 {
			msg = e.Sentence()
		}
		if msg == "" {
			msg = "You may not do this"
		}
		c.h.fail(c.w, c.r, c.p, http.StatusBadRequest, "Not done", strings.TrimSuffix(msg, ".")+". Nothing was changed.")
	default:
		c.h.failure(c.w, c.r, c.p, err)
	}
}

// list returns the tokens of the page in state, newest first, and
// whether there are more than shown.
func (c *call) list(state patkit.State, sort patkit.Sort) ([]*patkit.Token, bool, error) {
	f := patkit.Filter{State: state, Sort: sort, PerPage: 100}
	var (
		pg  *patkit.Page
		err error
	)
	if c.rt.kind == "personal" {
		pg, err = c.h.svc.ListUserTokens(c.r.Context(), c.p, c.p.User().ID, f)
	} else {
		pg, err = c.h.svc.ListResourceTokens(c.r.Context(), c.p, c.resourceType(), c.rt.ref, f)
	}
	if err != nil {
		return nil, false, err
	}
	return pg.Tokens, pg.HasNext(), nil
}

// page builds the list page with the form holding f; on a refusal it
// answers and returns false.
func (c *call) page(f form) (*tokensPage, bool) {
	now := c.h.svc.Now()
	pg := &tokensPage{
		layout:   c.h.layout(c.p, c.noun(), c.rt.kind),
		Kind:     c.rt.kind,
		Noun:     c.noun(),
		Resource: c.rt.ref,
		Base:     c.rt.base,
		Form:     f,
		FormID:   rand.Text(),
		MinDate:  patkit.Date(now).AddDate(0, 0, 1).Format(time.DateOnly),
	}
	if c.rt.kind != "personal" {
		pg.Title = c.noun() + " · " + c.rt.ref
	}
	active, _, err := c.list(patkit.StateActive, patkit.SortExpiresAsc)
	if err != nil {
		c.refused(err)
		return nil, false
	}
	inactive, more, err := c.list(patkit.StateInactive, patkit.SortCreatedDesc)
	if err != nil {
		c.refused(err)
		return nil, false
	}
	for _, t := range active {
		pg.Active = append(pg.Active, c.row(t, now))
	}
	for _, t := range inactive {
		pg.Inactive = append(pg.Inactive, c.row(t, now))
	}
	pg.More = more

	var scopes []patkit.Scope
	if c.rt.kind == "personal" {
		scopes = patkit.ScopesFor(c.p.User())
		// The Service refuses the rest (a principal with a token).
		pg.CanCreate = patkit.Allowed(c.p, patkit.CreateOwnToken, patkit.Target{})
	} else {
		scopes = patkit.ResourceScopes()
		levels, err := c.h.svc.TokenLevels(c.r.Context(), c.p, c.resourceType(), c.rt.ref)
		var e *patkit.Error
		switch {
		case err == nil:
			pg.CanCreate = len(levels) > 0
		case errors.As(err, &e) && errors.Is(err, patkit.ErrBadRequest):
			pg.Refusal = e.Message
		default:
			c.refused(err)
			return nil, false
		}
		want := f.Level
		if want == "" {
			want = strconv.Itoa(int(patkit.Guest))
		}
		for _, l := range levels {
			v := strconv.Itoa(int(l))
			pg.Levels = append(pg.Levels, choice{Value: v, Label: levelName(l), Checked: v == want})
		}
	}
	for _, s := range scopes {
		pg.Scopes = append(pg.Scopes, choice{Value: string(s), Label: string(s), Help: scopeHelp[s], Checked: slices.Contains(f.Scopes, string(s))})
	}
	if limit := c.h.svc.ExpiryLimit(); !limit.IsZero() {
		pg.MaxDate = limit.Format(time.DateOnly)
		if pg.Form.ExpiresAt == "" && pg.Form.Err == nil {
			pg.Form.ExpiresAt = pg.MaxDate
		}
	}
	return pg, true
}

// notices are the messages a redirect after a change may show.
var notices = map[string]string{
	"revoked": "The token was revoked.",
}

// confirmPage asks before a rotation or revocation.
type confirmPage struct {
	layout
	Action string // "rotate", "revoke"
	Token  row
	Owner  string
	Back   string
}

// confirmOrAct serves <list>/<id>/rotate and /revoke: GET asks, POST does.
func (c *call) confirmOrAct() {
	ctx := c.r.Context()
	var (
		tok *patkit.Token
		err error
	)
	switch c.rt.kind {
	case "personal":
		tok, err = c.h.svc.Token(ctx, c.p, c.rt.id)
		if err == nil && tok.UserID != c.p.User().ID {
			err = patkit.ErrNotFound // an administrator's page shows their own tokens only
		}
	case "admin":
		if !c.p.Admin() {
			err = patkit.ErrNotFound
			break
		}
		tok, err = c.h.svc.Token(ctx, c.p, c.rt.id)
	default:
		tok, err = c.h.svc.ResourceToken(ctx, c.p, c.resourceType(), c.rt.ref, c.rt.id)
	}
	if err != nil {
		c.refused(err)
		return
	}
	if c.r.Method != http.MethodPost {
		verb := "Rotate"
		if c.rt.action == "revoke" {
			verb = "Revoke"
		}
		pg := &confirmPage{layout: c.h.layout(c.p, verb+" "+tok.Name+"?", c.rt.kind), Action: c.rt.action, Token: c.row(tok, c.h.svc.Now()), Back: c.rt.base}
		if c.rt.kind == "admin" {
			pg.Owner = c.ownerName(tok, map[int64]string{})
		}
		c.h.render(c.w, c.r, "confirm", http.StatusOK, pg)
		return
	}
	if c.rt.action == "revoke" {
		switch c.rt.kind {
		case "personal", "admin":
			err = c.h.svc.RevokeToken(ctx, c.p, tok.ID)
		default:
			err = c.h.svc.RevokeResourceToken(ctx, c.p, c.resourceType(), c.rt.ref, tok.ID)
		}
		if err != nil {
			c.refused(err)
			return
		}
		http.Redirect(c.w, c.r, c.rt.base+"?notice=revoked", http.StatusSeeOther)
		return
	}
	var secret string
	if c.rt.kind == "personal" {
		tok, secret, err = c.h.svc.RotateToken(ctx, c.p, tok.ID, time.Time{})
	} else {
		tok, secret, err = c.h.svc.RotateResourceToken(ctx, c.p, c.resourceType(), c.rt.ref, tok.ID, time.Time{})
	}
	if err != nil {
		c.refused(err)
		return
	}
	c.showSecret(tok, secret, "The token was rotated: the old one no longer works.")
}

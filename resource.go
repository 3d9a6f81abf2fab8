package patkit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Project and group access tokens. Each is owned by a bot user of its
// resource (see BotDirectory); who may manage them depends on the caller's
// level in the resource, which the Directory's ResourceDirectory ability
// tells.

// resource resolves the project or group ref as p sees it and p's level in
// it, then, when a is not zero, checks that p may perform a there.
func (s *Service) resource(ctx context.Context, p *Principal, typ ResourceType, ref string, a Action) (*Resource, AccessLevel, error) {
	if p.User() == nil {
		return nil, 0, newError(ErrUnauthorized, "")
	}
	notFound := newError(ErrNotFound, resourceLabel(typ)+" Not Found")
	rd, ok := s.dir.(ResourceDirectory)
	if !ok || typ != ResourceProject && typ != ResourceGroup {
		return nil, 0, notFound
	}
	r, err := dirResource(ctx, rd, p, typ, ref)
	bot := p.token != nil && p.token.ResourceType == typ && p.token.UserID == p.user.ID
	if errors.Is(err, ErrNotFound) && bot {
		// A bot the Service manages is a member of its token's resource,
		// which the host's directory may not know.
		if own, oerr := dirResource(ctx, rd, nil, typ, ref); oerr == nil && own.ID == p.token.ResourceID {
			r, err = own, nil
		}
	}
	if errors.Is(err, ErrNotFound) {
		return nil, 0, notFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("patkit: find %s: %w", typ, err)
	}
	level, err := rd.AccessLevel(ctx, p.user.ID, r)
	if err != nil {
		return nil, 0, fmt.Errorf("patkit: access level: %w", err)
	}
	if level == NoAccess && bot && p.token.ResourceID == r.ID {
		level = p.token.AccessLevel
	}
	if a != 0 {
		if err := Authorize(p, a, Target{Resource: r, Level: level}); err != nil {
			return nil, 0, err
		}
	}
	return r, level, nil
}

func resourceLabel(t ResourceType) string {
	if t == ResourceGroup {
		return "Group"
	}
	return "Project"
}

// resourceToken finds a token of r, or ErrNotFound with GitLab's message.
func (s *Service) resourceToken(ctx context.Context, r *Resource, id int64) (*Token, error) {
	t, err := s.store.Get(ctx, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("patkit: get token: %w", err)
	}
	if err != nil || t.ResourceType != r.Type || t.ResourceID != r.ID {
		return nil, newError(ErrNotFound, string(r.Type)+" Access Token Not Found")
	}
	return t, nil
}

// ListResourceTokens lists the access tokens of a project or group (GET
// /{projects,groups}/:id/access_tokens). ref is a numeric ID or a full
// path. Callers below Maintainer (projects) or Owner (groups) get
// ErrUnauthorized.
func (s *Service) ListResourceTokens(ctx context.Context, p *Principal, typ ResourceType, ref string, f Filter) (*Page, error) {
	r, _, err := s.resource(ctx, p, typ, ref, ReadResourceTokens)
	if err != nil {
		return nil, err
	}
	page, err := s.list(ctx, &Query{Filter: f, ResourceType: r.Type, ResourceID: r.ID, Impersonation: new(false)})
	if err != nil {
		return nil, err
	}
	if err := s.liveLevels(ctx, r, page.Tokens...); err != nil {
		return nil, err
	}
	return page, nil
}

// liveLevels sets the AccessLevel of resource tokens to their bot's
// current level in r, as GitLab shows it; a bot without a membership in
// the Directory (one the Service manages, or one removed from r) keeps the
// level stored with the token.
func (s *Service) liveLevels(ctx context.Context, r *Resource, toks ...*Token) error {
	rd := s.dir.(ResourceDirectory) // r came from it
	for _, t := range toks {
		l, err := rd.AccessLevel(ctx, t.UserID, r)
		if err != nil {
			return fmt.Errorf("patkit: access level: %w", err)
		}
		if l != NoAccess {
			t.AccessLevel = l
		}
	}
	return nil
}

// ResourceToken returns one access token of a project or group.
func (s *Service) ResourceToken(ctx context.Context, p *Principal, typ ResourceType, ref string, id int64) (*Token, error) {
	r, _, err := s.resource(ctx, p, typ, ref, ReadResourceTokens)
	if err != nil {
		return nil, err
	}
	t, err := s.resourceToken(ctx, r, id)
	if err != nil {
		return nil, err
	}
	return t, s.liveLevels(ctx, r, t)
}

// CreateResourceToken creates a project or group access token and its bot
// user. Refusals are ErrBadRequest with GitLab's reasons; validation
// failures ErrInvalid. Nothing is created when either happens, and a bot
// the host's BotDirectory created is deleted again if the token cannot be
// saved.
func (s *Service) CreateResourceToken(ctx context.Context, p *Principal, typ ResourceType, ref string, o TokenOptions) (*Token, string, error) {
	r, level, err := s.resource(ctx, p, typ, ref, CreateResourceToken)
	if err != nil {
		return nil, "", err
	}
	if o.AccessLevel == 0 {
		o.AccessLevel = Maintainer
	}
	if !ValidTokenLevel(o.AccessLevel) {
		return nil, "", invalid(FieldError{"access_level", "does not have a valid value"})
	}
	if e := grantRefusal(p, r.Type, level, o.AccessLevel); e != nil {
		return nil, "", e
	}
	// Validate before the bot exists, so a refused token leaves nothing
	// behind.
	t, err := s.newToken(&User{}, o, ResourceScopes(), true)
	if err != nil {
		return nil, "", err
	}
	bot, undo, err := s.newBot(ctx, r, o.Name, o.AccessLevel)
	if err != nil {
		return nil, "", err
	}
	t.UserID = bot.ID
	t.ResourceType, t.ResourceID, t.AccessLevel = r.Type, r.ID, o.AccessLevel
	t, secret, err := s.save(ctx, p, t)
	if err != nil && undo != nil {
		undo()
	}
	return t, secret, err
}

// TokenLevels returns the access levels p may give a new access token of
// the project or group ref (GrantableLevels at p's level there), for a
// form that offers only those. It fails as CreateResourceToken does
// before it reads the token's options: ErrNotFound for a resource p may
// not see, ErrUnauthorized or ErrBadRequest when p may not create tokens
// there.
func (s *Service) TokenLevels(ctx context.Context, p *Principal, typ ResourceType, ref string) ([]AccessLevel, error) {
	r, level, err := s.resource(ctx, p, typ, ref, CreateResourceToken)
	if err != nil {
		return nil, err
	}
	return GrantableLevels(p, r.Type, level), nil
}

// RotateResourceToken rotates an access token of a project or group.
// Callers who may not manage the resource's tokens get ErrUnauthorized
// (administrators ErrNotFound), as for a missing token; a token whose
// level exceeds the caller's is ErrBadRequest.
func (s *Service) RotateResourceToken(ctx context.Context, p *Principal, typ ResourceType, ref string, id int64, expiresAt time.Time) (*Token, string, error) {
	r, level, err := s.resource(ctx, p, typ, ref, RotateResourceToken)
	if err != nil {
		return nil, "", err
	}
	t, err := s.resourceToken(ctx, r, id)
	if errors.Is(err, ErrNotFound) {
		return nil, "", hidden(p)
	}
	if err != nil {
		return nil, "", err
	}
	if err := s.liveLevels(ctx, r, t); err != nil {
		return nil, "", err
	}
	if !p.Admin() && t.AccessLevel > level {
		return nil, "", newError(ErrBadRequest, "Not eligible to rotate tokens with permissions not held by the user")
	}
	return s.rotate(ctx, p, t, expiresAt)
}

// RotateResourceTokenSelf rotates the project or group access token p
// authenticated with. A principal without a token or whose user is not a
// bot gets ErrNotAllowed; a token of another resource ErrUnauthorized.
func (s *Service) RotateResourceTokenSelf(ctx context.Context, p *Principal, typ ResourceType, ref string, expiresAt time.Time) (*Token, string, error) {
	if p.Token() == nil || !p.user.Bot {
		return nil, "", newError(ErrNotAllowed, "")
	}
	r, _, err := s.resource(ctx, p, typ, ref, 0)
	if err != nil {
		return nil, "", err
	}
	if p.token.ResourceType != r.Type || p.token.ResourceID != r.ID {
		return nil, "", newError(ErrUnauthorized, "")
	}
	return s.rotate(ctx, p, p.token, expiresAt)
}

// RevokeResourceToken revokes an access token of a project or group. The
// token is looked up first, so a missing one is ErrNotFound for every
// caller; a caller who may not revoke gets ErrBadRequest ("<caller> cannot
// delete <bot>"). The bot user is kept.
func (s *Service) RevokeResourceToken(ctx context.Context, p *Principal, typ ResourceType, ref string, id int64) error {
	r, level, err := s.resource(ctx, p, typ, ref, 0)
	if err != nil {
		return err
	}
	t, err := s.resourceToken(ctx, r, id)
	if err != nil {
		return err
	}
	bot, err := s.owner(ctx, t)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("patkit: find bot user: %w", err)
	}
	if err := Authorize(p, RevokeResourceToken, Target{Resource: r, Level: level, Token: t, Bot: bot}); err != nil {
		return err
	}
	if _, hostBots := s.dir.(BotDirectory); hostBots {
		// The host manages bots: one it deleted or removed from r is gone.
		var l AccessLevel
		if bot != nil {
			if l, err = s.dir.(ResourceDirectory).AccessLevel(ctx, bot.ID, r); err != nil {
				return fmt.Errorf("patkit: access level: %w", err)
			}
		}
		if l == NoAccess {
			return newError(ErrBadRequest, "Failed to find bot user")
		}
	}
	return s.revokeAs(ctx, p, t, "")
}

package patkit

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Bot users of project and group access tokens. A host whose Directory is
// a BotDirectory creates them; otherwise the Service does, and knows them
// from the tokens they own (see BotDirectory). In both cases a user ID the
// Directory does not know is looked up among the owners of resource tokens.

// Bot IDs the Service assigns lie in [botIDMin, botIDMax): clear of a
// host's own user IDs, exact in JSON numbers (below 2^53).
const (
	botIDMin = 1 << 40
	botIDMax = 1 << 52
)

// userByID returns the Directory's user, or the bot owning resource
// tokens in the Store.
func (s *Service) userByID(ctx context.Context, id int64) (*User, error) {
	u, err := s.dirUserByID(ctx, id)
	if !errors.Is(err, ErrNotFound) || id <= 0 {
		return u, err // a Query's UserID 0 would mean every user
	}
	q := &Query{UserID: id, Filter: Filter{Sort: SortCreatedDesc, PerPage: 1}, Now: s.now()}
	q.Normalize()
	toks, _, lerr := s.store.List(ctx, q)
	if lerr != nil {
		return nil, lerr
	}
	if len(toks) == 0 || toks[0].ResourceType == "" {
		return nil, err
	}
	return botOf(toks[0]), nil
}

// userByUsername returns the Directory's user, or the Service's bot of
// that username.
func (s *Service) userByUsername(ctx context.Context, username string) (*User, error) {
	u, err := s.dirUserByUsername(ctx, username)
	if !errors.Is(err, ErrNotFound) {
		return u, err
	}
	// project_<resource id>_bot_<hex user id>
	_, hexID, ok := strings.Cut(strings.ToLower(username), "_bot_")
	id, perr := strconv.ParseInt(hexID, 16, 64)
	if !ok || perr != nil || id < botIDMin {
		return nil, err
	}
	bot, berr := s.userByID(ctx, id)
	if berr != nil || !strings.EqualFold(bot.Username, username) {
		return nil, err
	}
	return bot, nil
}

// owner returns the user a token authenticates as: the Directory's user,
// or for a resource token whose bot the Directory does not know, the bot
// described by the token itself.
func (s *Service) owner(ctx context.Context, t *Token) (*User, error) {
	u, err := s.dirUserByID(ctx, t.UserID)
	if errors.Is(err, ErrNotFound) && t.ResourceType != "" {
		return botOf(t), nil
	}
	return u, err
}

// botOf returns the bot user the Service manages for a resource token.
func botOf(t *Token) *User {
	return &User{
		ID:       t.UserID,
		Username: fmt.Sprintf("%s_%d_bot_%x", t.ResourceType, t.ResourceID, t.UserID),
		Name:     t.Name,
		Bot:      true,
	}
}

// newBot returns the bot user of a new access token of r: made by the
// host's BotDirectory if it has one, else a new ID of the Service's.
// undo deletes a bot the host made; it is nil otherwise.
func (s *Service) newBot(ctx context.Context, r *Resource, name string, level AccessLevel) (bot *User, undo func(), err error) {
	if bd, ok := s.dir.(BotDirectory); ok {
		bot, err := bd.CreateBot(ctx, r, name, level)
		if err != nil {
			return nil, nil, fmt.Errorf("patkit: create bot user: %w", err)
		}
		if bot == nil {
			return nil, nil, errors.New("patkit: Directory.CreateBot returned neither a user nor an error")
		}
		// The token could not be saved: delete the bot with a context that
		// outlives a cancelled request.
		undo := func() { _ = bd.DeleteBot(context.WithoutCancel(ctx), bot.ID) }
		return bot, undo, nil
	}
	var b [8]byte
	if _, err := io.ReadFull(s.opts.Rand, b[:]); err != nil {
		return nil, nil, fmt.Errorf("patkit: create bot user: %w", err)
	}
	id := int64(botIDMin + binary.BigEndian.Uint64(b[:])%(botIDMax-botIDMin))
	t := &Token{UserID: id, Name: name, ResourceType: r.Type, ResourceID: r.ID}
	return botOf(t), nil, nil
}

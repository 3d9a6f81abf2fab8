package patkit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// FamilyRevoker is an optional ability of a Store: revoking the whole
// rotation family below a token in one transaction, rather than in one List
// and one Revoke per member. A Service finds it by type assertion and uses
// it when a revoked token is presented on a rotation request
// (AuthRequest.Rotate); without it the Service walks the family with List
// and revokes each active member with Revoke. memstore, sqlitestore and
// pgstore have it.
type FamilyRevoker interface {
	// RevokeDescendants revokes every token descending from token id
	// through rotation that is not revoked yet, and returns the IDs it
	// revoked, in increasing order.
	//
	// The descendants of id are its children, the tokens whose PreviousID
	// is id and whose ID is larger than id, then their children in the
	// same sense, and so on. A rotation's successor always has a larger
	// ID than the token it replaced, so a link to an ID that is not
	// larger is not followed: data edited by hand into a cycle cannot
	// make the walk loop. The walk goes on through members that are
	// already revoked (their active descendants are revoked too), and
	// never revokes id itself nor its ancestors.
	//
	// Each token revoked is revoked at the time at (its RevokedAt). The
	// whole family loses its grace (see Options.RotationGrace): Rotated
	// is cleared on every descendant, revoked now or before, on id itself
	// and on the tokens id descends from, as Revoke clears it.
	//
	// It is atomic: either every descendant that was active is revoked
	// and the call returns nil, or it returns an error and revokes
	// nothing. A token id that does not exist, or has no descendants, or
	// none that are unrevoked, revokes nothing and returns no IDs and no
	// error. A store that is a Watcher reports each ID revoked, and each
	// whose grace it ends, as it does for Revoke. The error contract is Store's: a done ctx, or a
	// closed store, returns an error and revokes nothing.
	RevokeDescendants(ctx context.Context, id int64, at time.Time) (revoked []int64, err error)
}

// revokeDescendants revokes every active token descending from id through
// rotation and drops each one revoked from the authentication cache: in
// one call to a Store that is a FamilyRevoker, otherwise by walking the
// family with List. IDs grow along a family, which bounds the walk.
// Each token revoked emits EventRevoked (ReasonReuseDetected) by actor.
func (s *Service) revokeDescendants(ctx context.Context, id int64, now time.Time, actor Actor) error {
	fr, ok := s.store.(FamilyRevoker)
	if !ok {
		return s.walkDescendants(ctx, id, now, actor)
	}
	revoked, err := fr.RevokeDescendants(ctx, id, now)
	for _, r := range revoked {
		s.cache.invalidate(r)
	}
	if err == nil && s.events != nil {
		for _, r := range revoked {
			t, gerr := s.store.Get(ctx, r)
			if gerr != nil {
				t = &Token{ID: r, Revoked: true} // all the event can tell
			}
			s.events.emit(EventRevoked, actor, t, ReasonReuseDetected)
		}
	}
	if err != nil {
		// The revocation may have committed though the store reports a
		// failure (a commit whose acknowledgement was lost), and which
		// tokens it revoked is then unknown: no cached token may outlive
		// it, as revokeInStore drops its token whatever the outcome.
		s.cache.purge()
		return fmt.Errorf("patkit: revoke token family: %w", err)
	}
	return nil
}

// walkDescendants is revokeDescendants for a Store that is not a
// FamilyRevoker: one List of the children of each member (and of each
// further page), one Revoke of each active one. With a grace window it
// ends the family's grace too, as a FamilyRevoker does: one Revoke of id
// (which clears Rotated on id and its ancestors) and of each rotated
// member.
func (s *Service) walkDescendants(ctx context.Context, id int64, now time.Time, actor Actor) error {
	grace := s.opts.RotationGrace > 0
	if grace {
		if err := s.revokeInStore(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	queue := []int64{id}
	for len(queue) > 0 {
		parent := queue[0]
		queue = queue[1:]
		q := &Query{PreviousID: parent, Filter: Filter{Page: 1, PerPage: 100}, Now: now}
		for {
			q.Normalize()
			children, _, err := s.store.List(ctx, q)
			if err != nil {
				return fmt.Errorf("patkit: revoke token family: %w", err)
			}
			for _, c := range children {
				if c.ID <= parent {
					continue
				}
				if !c.Revoked || grace && c.Rotated {
					err := s.revokeInStore(ctx, c.ID)
					if err != nil && !errors.Is(err, ErrNotFound) {
						return err
					}
					if err == nil && s.events != nil {
						c.Revoked = true
						s.events.emit(EventRevoked, actor, c, ReasonReuseDetected)
					}
				}
				queue = append(queue, c.ID)
			}
			if len(children) < q.PerPage {
				break
			}
			q.Page++
		}
	}
	return nil
}

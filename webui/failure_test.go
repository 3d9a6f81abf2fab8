package webui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/memstore"
)

// downStore is a Store whose database went away after some tokens were
// made.
type downStore struct {
	patkit.Store
	down bool
}

func (s *downStore) List(ctx context.Context, q *patkit.Query) ([]*patkit.Token, int, error) {
	if s.down {
		return nil, 0, fmt.Errorf("dial: %w", patkit.ErrUnavailable)
	}
	return s.Store.List(ctx, q)
}

func (s *downStore) Rotate(ctx context.Context, id int64, t *patkit.Token) error {
	if s.down {
		return fmt.Errorf("disk on fire")
	}
	return s.Store.Rotate(ctx, id, t)
}

func TestStoreFailures(t *testing.T) {
	store := &downStore{Store: memstore.New()}
	s := newSiteOn(t, store)
	id, _ := newToken(t, s, alice, pats, create("ci", "api"))
	store.down = true
	body := s.get(t, alice, pats, http.StatusServiceUnavailable)
	wantIn(t, body, "Service unavailable", "The token store cannot be reached.")
	// A failure after the secret was made shows no secret and logs none.
	w := s.post(t, alice, fmt.Sprintf("%s/%d/rotate", pats, id), url.Values{}, http.StatusInternalServerError)
	wantIn(t, w.Body.String(), "Something went wrong", "nothing was changed")
	wantNotIn(t, w.Body.String(), "glpat-")
	wantIn(t, s.log.String(), "webui: store unavailable", "webui: failure", "disk on fire")
}

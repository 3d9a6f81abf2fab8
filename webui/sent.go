package webui

import "sync"

// sentForms remembers the create forms this process has acted on, by the
// random form_id each create form carries, so that the same form sent
// twice (a reload of the page that shows the new secret re-posts it, once
// the browser has asked) creates one token. It keeps the newest
// maxSentForms IDs; with several instances behind a load balancer, a
// re-post that reaches another instance is not recognized.
type sentForms struct {
	mu   sync.Mutex
	ids  map[string]struct{}
	ring [maxSentForms]string
	next int
}

const maxSentForms = 4096

// maxFormID bounds the IDs kept: the pages make 26-character ones
// (crypto/rand.Text), and a longer one is not remembered, so that posts
// cannot fill memory with large IDs.
const maxFormID = 64

// claim reserves id for one create and reports whether it was free. An
// empty id (a form from before form_id, or a script's) or one longer
// than maxFormID is always free.
func (s *sentForms) claim(id string) bool {
	if id == "" || len(id) > maxFormID {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ids[id]; ok {
		return false
	}
	if s.ids == nil {
		s.ids = make(map[string]struct{})
	}
	if old := s.ring[s.next]; old != "" {
		delete(s.ids, old)
	}
	s.ring[s.next], s.next = id, (s.next+1)%maxSentForms
	s.ids[id] = struct{}{}
	return true
}

// release frees id again after a create that failed, so that the
// corrected form may be sent.
func (s *sentForms) release(id string) {
	if id == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.ids, id)
}

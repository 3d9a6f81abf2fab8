package webui

import "sync"

// sentForms remembers the create forms this process has acted on, by the
// random form_id each create form carries, so that the same form sent
// twice (a reload of the page that shows the new secret re-posts it, once
// the browser has asked) creates one token. It keeps the newest
// maxSentForms IDs; with several instances behind a load balancer, a
// re-post that reaches another instance is not recognized. Its ring is
// made by the first claim: until a form is sent, the collector has no
// 64 KB of empty strings to scan at every cycle of an API-only host.
type sentForms struct {
	mu   sync.Mutex
	ids  map[string]int // an ID's place in ring
	ring []string       // maxSentForms, oldest at next
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
	if s.ring == nil {
		s.ids, s.ring = make(map[string]int), make([]string, maxSentForms)
	}
	// The slot's ID is forgotten, unless it was released and claimed
	// again since and is held at a newer place ("" is never held).
	old := s.ring[s.next]
	if at, ok := s.ids[old]; ok && at == s.next {
		delete(s.ids, old)
	}
	s.ring[s.next] = id
	s.ids[id] = s.next
	s.next = (s.next + 1) % maxSentForms
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

package httpapi

// ThrottledClients returns how many client addresses the failed
// authentication throttle of h remembers.
func ThrottledClients(h *Handler) int { return h.auth.throttle.len() }

package pgstore

import (
	"time"

	"github.com/patkit/patkit"
)

// ListSQL exposes the SQL of List to the EXPLAIN test.
func (s *Store) ListSQL(q *patkit.Query) (page string, pageArgs []any, count string, countArgs []any) {
	return s.listSQL(q)
}

// ChannelName exposes the NOTIFY channel of a schema.
var ChannelName = channelName

// ListenerPID returns the backend PID of Watch's connection while it
// listens, 0 otherwise.
func (s *Store) ListenerPID() uint32 { return s.listener.Load() }

// SetWatchTimings shortens Watch's timings; call it before Watch.
func (s *Store) SetWatchTimings(heartbeat, minBackoff, maxBackoff time.Duration) {
	s.timings.heartbeat = heartbeat
	s.timings.minBackoff = minBackoff
	s.timings.maxBackoff = maxBackoff
}

package sqlrec

import (
	"context"
	"time"

	"github.com/aragora/aragora/store"
)

// The lease statements; the finders take the limit last and return
// DebateColumns.
var (
	// FindOrphans takes the time leases are compared with.
	FindOrphans = NewStmt(`SELECT ` + DebateColumns + ` FROM debates
		WHERE status NOT IN (` + TerminalList + `) AND (lease_expires_at IS NULL OR lease_expires_at <= $1)
		ORDER BY updated_at, id LIMIT $2`)
	// FindStale takes the time before which a running debate's last
	// write makes it stale.
	FindStale = NewStmt(`SELECT ` + DebateColumns + ` FROM debates
		WHERE status = 'running' AND updated_at < $1 ORDER BY updated_at, id LIMIT $2`)
	// FindUnended lists terminal debates whose log has no debate_end.
	FindUnended = NewStmt(`SELECT ` + DebateColumns + ` FROM debates d
		WHERE status IN (` + TerminalList + `)
		AND NOT EXISTS (SELECT 1 FROM debate_events e WHERE e.debate_id = d.id AND e.type = 'debate_end')
		ORDER BY updated_at, id LIMIT $1`)
	// Heartbeat takes id, lease owner, lease generation, now and the new
	// expiry; it changes no row unless the lease holds on a running debate.
	Heartbeat = NewStmt(`UPDATE debates SET updated_at = $4, lease_expires_at = $5
		WHERE id = $1 AND status = 'running' AND lease_owner = $2 AND lease_generation = $3`)
	// DropLease takes id and now.
	DropLease = NewStmt(`UPDATE debates SET lease_owner = NULL, lease_expires_at = NULL, updated_at = $2 WHERE id = $1`)

	setStatus        = NewStmt(`UPDATE debates SET status = $2, updated_at = $3 WHERE id = $1`)
	setStatusRunning = NewStmt(`UPDATE debates SET status = $2, updated_at = $3, started_at = COALESCE(started_at, $3) WHERE id = $1`)
	setStatusFinal   = NewStmt(`UPDATE debates SET status = $2, updated_at = $3, finished_at = $3, lease_owner = NULL, lease_expires_at = NULL WHERE id = $1`)
)

// SetStatus sets debate id's status to to at now in c, with its side
// effects: running sets started_at once; a terminal status sets finished_at
// and drops the lease.
func SetStatus(ctx context.Context, c Conn, id string, to store.Status, now time.Time) error {
	s := setStatus
	switch {
	case to == store.StatusRunning:
		s = setStatusRunning
	case store.Terminal(to):
		s = setStatusFinal
	}
	return c.Exec(ctx, s, id, to, c.Time(now))
}

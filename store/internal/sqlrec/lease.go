package sqlrec

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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

// forUpdate returns q (in the Postgres form) locking the rows it reads in
// Postgres; SQLite's write transaction holds the whole database.
func forUpdate(q string) Stmt { return Stmt{Postgres: q + ` FOR UPDATE`, SQLite: numbered(q)} }

var (
	lockLease  = forUpdate(`SELECT status, lease_owner, lease_generation FROM debates WHERE id = $1`)
	lockStatus = forUpdate(`SELECT status FROM debates WHERE id = $1`)
	debateRow  = NewStmt(`SELECT 1 FROM debates WHERE id = $1`)
	endOfLog   = NewStmt(`SELECT COALESCE(MAX(seq), 0), COUNT(*) FILTER (WHERE type = 'debate_end') FROM debate_events WHERE debate_id = $1`)
	setLastSeq = NewStmt(`UPDATE debates SET last_seq = $2 WHERE id = $1`)
)

// LockLease locks debate id's row in the transaction c and returns
// ErrLeaseLost unless l is its lease and it is not terminal (ErrNotFound
// for a missing debate).
func LockLease(ctx context.Context, c Conn, id string, l store.Lease) error {
	var (
		status store.Status
		owner  sql.NullString
		gen    int64
	)
	err := c.QueryRow(ctx, lockLease, id).Scan(&status, &owner, &gen)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("debate %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return err
	}
	if store.Terminal(status) || !owner.Valid || owner.String != l.Owner || gen != l.Generation {
		return fmt.Errorf("debate %q: lease of %q generation %d: %w", id, l.Owner, l.Generation, store.ErrLeaseLost)
	}
	return nil
}

// lockDebateStatus locks debate id's row in the transaction c and returns its
// status.
func lockDebateStatus(ctx context.Context, c Conn, id string) (store.Status, error) {
	var cur store.Status
	err := c.QueryRow(ctx, lockStatus, id).Scan(&cur)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("debate %q: %w", id, store.ErrNotFound)
	}
	return cur, err
}

// MissingOrConflict explains a conditional update of s's backend that
// matched no row: ErrNotFound for a missing debate, else conflict
// (ErrConflict or ErrLeaseLost) with why.
func MissingOrConflict(ctx context.Context, s Store, op, id, why string, conflict error) error {
	err := s.db.Read(ctx, func(c Conn) error {
		var one int
		return c.QueryRow(ctx, debateRow, id).Scan(&one)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return s.errorf("%s: debate %q: %w", op, id, store.ErrNotFound)
	}
	if err != nil {
		return s.errorf("%s %q: %w", op, id, err)
	}
	return s.errorf("%s %q: %s: %w", op, id, why, conflict)
}

// claim takes debate $1's lease for owner $2 until $3 at $4, unless the
// debate is terminal or another owner's lease holds; it returns
// DebateColumns. In Postgres it never waits for the row: one that another
// transaction holds locked (its holder writing, or frozen mid-write until
// Postgres ends the idle transaction) is skipped, so the claim changes
// nothing. A claim that waited would grant a lease timed from $4, before
// the wait: already expired when granted, for the next sweep of a peer to
// claim again (docs/SCALING.md#failure-modes).
var claim = func() Stmt {
	const set = `UPDATE debates SET lease_owner = $2, lease_expires_at = $3, updated_at = $4,
		lease_generation = lease_generation + 1 WHERE `
	cond := `id = $1 AND status NOT IN (` + TerminalList + `)
		AND (lease_owner IS NULL OR lease_owner = $2 OR lease_expires_at IS NULL OR lease_expires_at <= $4)`
	returning := ` RETURNING ` + DebateColumns
	return Stmt{
		Postgres: set + `id = (SELECT id FROM debates WHERE ` + cond + ` FOR UPDATE SKIP LOCKED)` + returning,
		SQLite:   numbered(set + cond + returning),
	}
}()

// ClaimDebate implements [store.Leaser] with one conditional update.
func (s Store) ClaimDebate(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) (*store.Debate, error) {
	var d *store.Debate
	err := s.db.Rewrite(ctx, func(c Conn) (err error) {
		d, err = ScanDebate(c.QueryRow(ctx, claim, id, owner, c.Time(now.Add(ttl)), c.Time(now)))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, MissingOrConflict(ctx, s, "claim", id, "terminal or leased by another owner", store.ErrConflict)
	}
	if err != nil {
		return nil, s.errorf("claim %q: %w", id, err)
	}
	return d, nil
}

// Heartbeat implements [store.Leaser].
func (s Store) Heartbeat(ctx context.Context, id string, l store.Lease, now time.Time, ttl time.Duration) error {
	n, err := s.changed(ctx, s.db.Rewrite, fmt.Sprintf("heartbeat %q", id), Heartbeat, id, l.Owner, l.Generation, s.time(now), s.time(now.Add(ttl)))
	if err != nil {
		return err
	}
	if n == 0 {
		return MissingOrConflict(ctx, s, "heartbeat", id, fmt.Sprintf("lease of %q generation %d", l.Owner, l.Generation), store.ErrLeaseLost)
	}
	return nil
}

// ReleaseDebate implements [store.Leaser].
func (s Store) ReleaseDebate(ctx context.Context, id string, l store.Lease, status store.Status, now time.Time) error {
	err := s.db.RewriteTx(ctx, func(c Conn) error {
		if err := LockLease(ctx, c, id, l); err != nil {
			return err
		}
		if err := c.Exec(ctx, DropLease, id, c.Time(now)); err != nil {
			return err
		}
		if status == "" {
			return nil
		}
		return SetStatus(ctx, c, id, status, now)
	})
	if err != nil {
		return s.errorf("release %q: %w", id, err)
	}
	return nil
}

// UpdateStatus implements [store.Leaser].
func (s Store) UpdateStatus(ctx context.Context, id string, from []store.Status, to store.Status, now time.Time) error {
	err := s.db.RewriteTx(ctx, func(c Conn) error {
		cur, err := lockDebateStatus(ctx, c, id)
		if err != nil {
			return err
		}
		if len(from) > 0 && !slices.Contains(from, cur) {
			return fmt.Errorf("debate %q: status %s not in %v: %w", id, cur, from, store.ErrConflict)
		}
		return SetStatus(ctx, c, id, to, now)
	})
	if err != nil {
		return s.errorf("update status: %w", err)
	}
	return nil
}

// FinishDebate implements [store.Leaser].
func (s Store) FinishDebate(ctx context.Context, id string, f *store.Finish, now time.Time) error {
	if f == nil || !store.Terminal(f.Status) {
		return s.errorf("finish %q: want a terminal status", id)
	}
	err := s.db.RewriteTx(ctx, func(c Conn) error {
		if f.Lease != nil {
			if err := LockLease(ctx, c, id, *f.Lease); err != nil {
				return err
			}
		} else {
			cur, err := lockDebateStatus(ctx, c, id)
			if err != nil {
				return err
			}
			if (len(f.From) > 0 && !slices.Contains(f.From, cur)) || (len(f.From) == 0 && store.Terminal(cur)) {
				return fmt.Errorf("debate %q: status %s: %w", id, cur, store.ErrConflict)
			}
		}
		if f.End != nil {
			if _, err := s.appendEnd(ctx, c, id, f.End, false); err != nil {
				return err
			}
		}
		if err := SetStatus(ctx, c, id, f.Status, now); err != nil {
			return err
		}
		return WriteFinal(ctx, s, c, id, &f.Final, now)
	})
	if err != nil {
		return s.errorf("finish: %w", err)
	}
	return nil
}

// AppendDebateEnd implements [store.Leaser].
func (s Store) AppendDebateEnd(ctx context.Context, id string, build func(seq int64) (json.RawMessage, error)) (store.Event, error) {
	var e store.Event
	err := s.db.RewriteTx(ctx, func(c Conn) error {
		// Lock the record so concurrent sweepers serialise.
		if _, err := lockDebateStatus(ctx, c, id); err != nil {
			return err
		}
		var err error
		e, err = s.appendEnd(ctx, c, id, build, true)
		return err
	})
	if err != nil {
		return store.Event{}, s.errorf("append debate end: %w", err)
	}
	return e, nil
}

// appendEnd appends the debate_end event build makes for the next seq and
// sets the record's LastSeq, in the transaction c (the record's row
// locked). When the log already has one it returns ErrConflict if strict,
// else does nothing.
func (s Store) appendEnd(ctx context.Context, c Conn, id string, build func(seq int64) (json.RawMessage, error), strict bool) (store.Event, error) {
	var last, ends int64
	if err := c.QueryRow(ctx, endOfLog, id).Scan(&last, &ends); err != nil {
		return store.Event{}, err
	}
	if ends > 0 {
		if strict {
			return store.Event{}, fmt.Errorf("debate %q: second %s: %w", id, store.EventDebateEnd, store.ErrConflict)
		}
		return store.Event{}, nil
	}
	js, err := build(last + 1)
	if err != nil {
		return store.Event{}, fmt.Errorf("build %s of %q: %w", store.EventDebateEnd, id, err)
	}
	e := store.Event{DebateID: id, Seq: last + 1, Type: store.EventDebateEnd, JSON: js}
	if err := c.Exec(ctx, InsertEvent, id, e.Seq, e.Type, []byte(js)); err != nil {
		if s.db.IsConflict(err) {
			return store.Event{}, fmt.Errorf("debate %q: %w", id, store.ErrConflict)
		}
		return store.Event{}, err
	}
	return e, c.Exec(ctx, setLastSeq, id, e.Seq)
}

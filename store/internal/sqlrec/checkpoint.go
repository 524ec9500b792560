package sqlrec

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/aragora/aragora/store"
)

// The statements of the checkpoint log.
var (
	checkpointDigest = NewStmt(`SELECT digest FROM checkpoints WHERE debate_id = $1 AND round = $2 AND phase = $3`)
	lastSeq          = NewStmt(`SELECT COALESCE(MAX(seq), 0) FROM debate_events WHERE debate_id = $1`)
	advanceDebate    = NewStmt(`UPDATE debates SET last_seq = $1, updated_at = $2 WHERE id = $3`)
	advanceToEnd     = NewStmt(`UPDATE debates SET last_seq = $1, updated_at = $2, status = $3, finished_at = $2,
		lease_owner = NULL, lease_expires_at = NULL WHERE id = $4`)

	// InsertEvent takes debate_id, seq, type, data.
	InsertEvent = NewStmt(`INSERT INTO debate_events (debate_id, seq, type, data) VALUES ($1, $2, $3, $4)`)
	// InsertCheckpoint takes debate_id, round, phase, seq, event_count,
	// status, state, digest, created_at.
	InsertCheckpoint = NewStmt(`INSERT INTO checkpoints (debate_id, round, phase, seq, event_count, status, state, digest, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`)
	// LatestCheckpoint takes debate_id; [ScanCheckpoint] reads its row.
	LatestCheckpoint = NewStmt(`SELECT round, phase, seq, event_count, status, state, created_at FROM checkpoints
		WHERE debate_id = $1 ORDER BY id DESC LIMIT 1`)
	// ListEvents takes debate_id, the seq to list after and the limit;
	// [ScanEvent] reads its rows.
	ListEvents = NewStmt(`SELECT seq, type, data FROM debate_events WHERE debate_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`)
)

// CheckpointSaved looks up cp's key (debate, round, phase) in c. saved is
// true when the same checkpoint (by digest) is stored, so saving it again
// is a no-op; a different one under the key is an error wrapping
// store.ErrConflict.
func CheckpointSaved(ctx context.Context, c Conn, cp *store.Checkpoint, digest string) (saved bool, err error) {
	var old string
	err = c.QueryRow(ctx, checkpointDigest, cp.DebateID, cp.Round, cp.Phase).Scan(&old)
	switch {
	case err == nil && old == digest:
		return true, nil
	case err == nil:
		return false, fmt.Errorf("checkpoint %q round %d phase %q: different checkpoint under the same key: %w",
			cp.DebateID, cp.Round, cp.Phase, store.ErrConflict)
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	}
	return false, err
}

// LastSeq returns the seq of debate id's last event in c, 0 when it has none.
func LastSeq(ctx context.Context, c Conn, id string) (int64, error) {
	var last int64
	err := c.QueryRow(ctx, lastSeq, id).Scan(&last)
	return last, err
}

// AdvanceDebate moves cp's debate to cp.Seq, updated at at; when cp.Status
// is terminal it also sets the status, finishes the debate and drops its
// lease. A missing debates row is not an error.
func AdvanceDebate(ctx context.Context, c Conn, cp *store.Checkpoint, at time.Time) error {
	if store.Terminal(cp.Status) {
		return c.Exec(ctx, advanceToEnd, cp.Seq, c.Time(at), cp.Status, cp.DebateID)
	}
	return c.Exec(ctx, advanceDebate, cp.Seq, c.Time(at), cp.DebateID)
}

// ScanCheckpoint reads a row of LatestCheckpoint into cp, without its
// events; n is how many events the checkpoint's batch had.
func ScanCheckpoint(row Row, cp *store.Checkpoint) (n int64, err error) {
	var state []byte
	err = row.Scan(&cp.Round, &cp.Phase, &cp.Seq, &n, &cp.Status, &state, Time(&cp.CreatedAt))
	cp.State = state
	return n, err
}

// ScanEvent returns the scanner of ListEvents' rows, events of debateID.
func ScanEvent(debateID string) func(Row) (store.Event, error) {
	return func(row Row) (store.Event, error) {
		e := store.Event{DebateID: debateID}
		var data []byte
		err := row.Scan(&e.Seq, &e.Type, &data)
		e.JSON = data
		return e, err
	}
}

// SaveCheckpoint appends cp.Events and stores cp in one transaction, per
// the [store.Checkpointer] contract (identity by [store.CheckpointDigest]).
// It is retried as DB.RewriteTx: an identical checkpoint is a no-op, so a
// commit whose acknowledgement was lost is harmless to repeat.
func (s Store) SaveCheckpoint(ctx context.Context, cp *store.Checkpoint) error {
	if cp == nil || cp.DebateID == "" {
		return s.errorf("save checkpoint: empty debate id")
	}
	digest := store.CheckpointDigest(cp)
	at := cp.CreatedAt
	if at.IsZero() {
		at = s.now()
	}
	err := s.db.RewriteTx(ctx, func(c Conn) error {
		if saved, err := CheckpointSaved(ctx, c, cp, digest); saved || err != nil {
			return err
		}
		if cp.Lease != nil {
			if err := LockLease(ctx, c, cp.DebateID, *cp.Lease); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("checkpoint %q: no debate record: %w", cp.DebateID, store.ErrLeaseLost)
				}
				return err
			}
		}
		last, err := LastSeq(ctx, c, cp.DebateID)
		if err != nil {
			return err
		}
		if err := store.CheckBatch(cp, last); err != nil {
			return err
		}
		if err := s.db.AppendEvents(ctx, c, cp,
			[]any{cp.DebateID, cp.Round, cp.Phase, cp.Seq, len(cp.Events), cp.Status, NullBytes(cp.State), digest, c.Time(at)}); err != nil {
			return err
		}
		if err := AdvanceDebate(ctx, c, cp, at); err != nil || !store.Terminal(cp.Status) {
			return err
		}
		return WriteFinal(ctx, s, c, cp.DebateID, cp.Final, at)
	})
	if s.db.IsConflict(err) {
		return s.errorf("save checkpoint %q: %w: %w", cp.DebateID, store.ErrConflict, err)
	}
	if err != nil {
		return s.errorf("save checkpoint: %w", err)
	}
	return nil
}

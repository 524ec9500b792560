package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/aragora/aragora/store"
)

// SaveCheckpoint appends cp.Events and stores cp in one transaction, per
// the [store.Checkpointer] contract (identity by [store.CheckpointDigest]).
func (s *Store) SaveCheckpoint(ctx context.Context, cp *store.Checkpoint) error {
	if cp == nil || cp.DebateID == "" {
		return errors.New("sqlitestore: save checkpoint: empty debate id")
	}
	digest := store.CheckpointDigest(cp)
	at := cp.CreatedAt
	if at.IsZero() {
		at = s.cfg.Now()
	}
	err := tx(ctx, s.w, func(tx *sql.Tx) error {
		var old string
		err := tx.QueryRowContext(ctx, `SELECT digest FROM checkpoints WHERE debate_id = ? AND round = ? AND phase = ?`,
			cp.DebateID, cp.Round, cp.Phase).Scan(&old)
		switch {
		case err == nil && old == digest:
			return nil
		case err == nil:
			return fmt.Errorf("checkpoint %q round %d phase %q: different checkpoint under the same key: %w",
				cp.DebateID, cp.Round, cp.Phase, store.ErrConflict)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if cp.Lease != nil {
			if err := checkLease(ctx, tx, cp.DebateID, *cp.Lease); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("checkpoint %q: no debate record: %w", cp.DebateID, store.ErrLeaseLost)
				}
				return err
			}
		}
		var last int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM debate_events WHERE debate_id = ?`, cp.DebateID).Scan(&last); err != nil {
			return err
		}
		if err := store.CheckBatch(cp, last); err != nil {
			return err
		}
		if len(cp.Events) > 0 {
			ins, err := tx.PrepareContext(ctx, `INSERT INTO debate_events (debate_id, seq, type, data) VALUES (?, ?, ?, ?)`)
			if err != nil {
				return err
			}
			defer ins.Close()
			for _, e := range cp.Events {
				if _, err := ins.ExecContext(ctx, cp.DebateID, e.Seq, e.Type, []byte(e.JSON)); err != nil {
					if isConstraint(err) {
						return fmt.Errorf("checkpoint %q: event %d (%s): %w", cp.DebateID, e.Seq, e.Type, store.ErrConflict)
					}
					return err
				}
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO checkpoints (debate_id, round, phase, seq, event_count, status, state, digest, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			cp.DebateID, cp.Round, cp.Phase, cp.Seq, len(cp.Events), cp.Status, nullBytes(cp.State), digest, fmtTime(at))
		if err != nil {
			return err
		}
		if store.Terminal(cp.Status) {
			_, err = tx.ExecContext(ctx, `UPDATE debates SET last_seq = ?, updated_at = ?, status = ?, finished_at = ?,
				lease_owner = NULL, lease_expires_at = NULL WHERE id = ?`,
				cp.Seq, fmtTime(at), cp.Status, fmtTime(at), cp.DebateID)
			if err == nil {
				err = writeFinal(ctx, tx, cp.DebateID, cp.Final, at)
			}
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE debates SET last_seq = ?, updated_at = ? WHERE id = ?`, cp.Seq, fmtTime(at), cp.DebateID)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: save checkpoint: %w", err)
	}
	return nil
}

// LatestCheckpoint returns the debate's most recently saved checkpoint with
// its event batch, or an error wrapping ErrNotFound.
func (s *Store) LatestCheckpoint(ctx context.Context, debateID string) (*store.Checkpoint, error) {
	cp := store.Checkpoint{DebateID: debateID}
	var (
		n       int64
		state   []byte
		created sql.NullString
	)
	err := s.r.QueryRowContext(ctx, `SELECT round, phase, seq, event_count, status, state, created_at FROM checkpoints
		WHERE debate_id = ? ORDER BY id DESC LIMIT 1`, debateID).Scan(&cp.Round, &cp.Phase, &cp.Seq, &n, &cp.Status, &state, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlitestore: checkpoint of %q: %w", debateID, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: checkpoint of %q: %w", debateID, err)
	}
	cp.State = state
	if cp.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	cp.Events = []store.Event{}
	if n > 0 {
		if cp.Events, err = s.ListEvents(ctx, debateID, cp.Seq-n, int(n)); err != nil {
			return nil, err
		}
	}
	return &cp, nil
}

// ListEvents returns up to limit events with seq > afterSeq in seq order
// (limit <= 0: all); an unknown debate yields an empty list.
func (s *Store) ListEvents(ctx context.Context, debateID string, afterSeq int64, limit int) ([]store.Event, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := s.r.QueryContext(ctx, `SELECT seq, type, data FROM debate_events WHERE debate_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
		debateID, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list events of %q: %w", debateID, err)
	}
	defer rows.Close()
	out := []store.Event{}
	for rows.Next() {
		e := store.Event{DebateID: debateID}
		var data []byte
		if err := rows.Scan(&e.Seq, &e.Type, &data); err != nil {
			return nil, fmt.Errorf("sqlitestore: list events of %q: %w", debateID, err)
		}
		e.JSON = data
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: list events of %q: %w", debateID, err)
	}
	return out, nil
}

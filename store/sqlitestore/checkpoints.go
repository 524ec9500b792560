package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/internal/sqlrec"
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
		c := sqliteConn{tx}
		if saved, err := sqlrec.CheckpointSaved(ctx, c, cp, digest); saved || err != nil {
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
		last, err := sqlrec.LastSeq(ctx, c, cp.DebateID)
		if err != nil {
			return err
		}
		if err := store.CheckBatch(cp, last); err != nil {
			return err
		}
		if len(cp.Events) > 0 {
			ins, err := tx.PrepareContext(ctx, sqlrec.InsertEvent.SQLite)
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
		if err := c.Exec(ctx, sqlrec.InsertCheckpoint,
			cp.DebateID, cp.Round, cp.Phase, cp.Seq, len(cp.Events), cp.Status, nullBytes(cp.State), digest, c.Time(at)); err != nil {
			return err
		}
		if err := sqlrec.AdvanceDebate(ctx, c, cp, at); err != nil || !store.Terminal(cp.Status) {
			return err
		}
		return writeFinal(ctx, tx, cp.DebateID, cp.Final, at)
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
	n, err := sqlrec.ScanCheckpoint(s.r.QueryRowContext(ctx, sqlrec.LatestCheckpoint.SQLite, debateID), &cp)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: checkpoint of %q: %w", debateID, sqlrec.OrNotFound(err))
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
	return queryAll(ctx, s.r, fmt.Sprintf("list events of %q", debateID), sqlrec.ScanEvent(debateID),
		sqlrec.ListEvents.SQLite, debateID, afterSeq, limit)
}

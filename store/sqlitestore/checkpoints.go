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
			if err := sqlrec.LockLease(ctx, c, cp.DebateID, *cp.Lease); err != nil {
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
			cp.DebateID, cp.Round, cp.Phase, cp.Seq, len(cp.Events), cp.Status, sqlrec.NullBytes(cp.State), digest, c.Time(at)); err != nil {
			return err
		}
		if err := sqlrec.AdvanceDebate(ctx, c, cp, at); err != nil || !store.Terminal(cp.Status) {
			return err
		}
		return sqlrec.WriteFinal(ctx, s.shared, sqliteConn{tx}, cp.DebateID, cp.Final, at)
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: save checkpoint: %w", err)
	}
	return nil
}

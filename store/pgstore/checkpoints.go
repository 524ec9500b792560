package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/internal/sqlrec"
)

// SaveCheckpoint appends cp.Events and stores cp in one transaction, per
// the [store.Checkpointer] contract (identity by [store.CheckpointDigest]).
// A connection error is retried once (see the package doc).
func (s *Store) SaveCheckpoint(ctx context.Context, cp *store.Checkpoint) error {
	if cp == nil || cp.DebateID == "" {
		return errors.New("pgstore: save checkpoint: empty debate id")
	}
	digest := store.CheckpointDigest(cp)
	at := cp.CreatedAt
	if at.IsZero() {
		at = s.cfg.Now()
	}
	at = at.UTC()
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		c := pgConn{tx}
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
			rows := make([][]any, len(cp.Events))
			for i, e := range cp.Events {
				rows[i] = []any{cp.DebateID, e.Seq, e.Type, []byte(e.JSON)}
			}
			// One round trip for the batch; a concurrent writer of the same seq
			// makes it fail on the primary key.
			b := &pgx.Batch{}
			for _, r := range rows {
				b.Queue(sqlrec.InsertEvent.Postgres, r...)
			}
			b.Queue(sqlrec.InsertCheckpoint.Postgres,
				cp.DebateID, cp.Round, cp.Phase, cp.Seq, len(cp.Events), cp.Status, sqlrec.NullBytes(cp.State), digest, at)
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return err
			}
		} else {
			if err := c.Exec(ctx, sqlrec.InsertCheckpoint,
				cp.DebateID, cp.Round, cp.Phase, cp.Seq, 0, cp.Status, sqlrec.NullBytes(cp.State), digest, at); err != nil {
				return err
			}
		}
		if err := sqlrec.AdvanceDebate(ctx, c, cp, at); err != nil || !store.Terminal(cp.Status) {
			return err
		}
		return sqlrec.WriteFinal(ctx, s.shared, pgConn{tx}, cp.DebateID, cp.Final, at)
	})
	if isUnique(err) {
		return fmt.Errorf("pgstore: save checkpoint %q: %w: %w", cp.DebateID, store.ErrConflict, err)
	}
	if err != nil {
		return fmt.Errorf("pgstore: save checkpoint: %w", err)
	}
	return nil
}

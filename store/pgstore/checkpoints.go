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
			if err := lockLease(ctx, tx, cp.DebateID, *cp.Lease); err != nil {
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
				cp.DebateID, cp.Round, cp.Phase, cp.Seq, len(cp.Events), cp.Status, nullBytes(cp.State), digest, at)
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return err
			}
		} else {
			if err := c.Exec(ctx, sqlrec.InsertCheckpoint,
				cp.DebateID, cp.Round, cp.Phase, cp.Seq, 0, cp.Status, nullBytes(cp.State), digest, at); err != nil {
				return err
			}
		}
		if err := sqlrec.AdvanceDebate(ctx, c, cp, at); err != nil || !store.Terminal(cp.Status) {
			return err
		}
		return writeFinal(ctx, tx, cp.DebateID, cp.Final, at)
	})
	if isUnique(err) {
		return fmt.Errorf("pgstore: save checkpoint %q: %w: %w", cp.DebateID, store.ErrConflict, err)
	}
	if err != nil {
		return fmt.Errorf("pgstore: save checkpoint: %w", err)
	}
	return nil
}

// LatestCheckpoint returns the debate's most recently saved checkpoint with
// its event batch, or an error wrapping ErrNotFound.
func (s *Store) LatestCheckpoint(ctx context.Context, debateID string) (*store.Checkpoint, error) {
	cp := store.Checkpoint{DebateID: debateID}
	var n int64
	err := s.retry(ctx, func() (err error) {
		n, err = sqlrec.ScanCheckpoint(s.pool.QueryRow(ctx, sqlrec.LatestCheckpoint.Postgres, debateID), &cp)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: checkpoint of %q: %w", debateID, sqlrec.OrNotFound(err))
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
	var lim *int
	if limit > 0 {
		lim = &limit
	}
	return queryAll(ctx, s, fmt.Sprintf("list events of %q", debateID), sqlrec.ScanEvent(debateID),
		sqlrec.ListEvents.Postgres, debateID, afterSeq, lim)
}

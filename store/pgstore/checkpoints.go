package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aragora/aragora/store"
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
		var old string
		err := tx.QueryRow(ctx, `SELECT digest FROM checkpoints WHERE debate_id = $1 AND round = $2 AND phase = $3`,
			cp.DebateID, cp.Round, cp.Phase).Scan(&old)
		switch {
		case err == nil && old == digest:
			return nil
		case err == nil:
			return fmt.Errorf("checkpoint %q round %d phase %q: different checkpoint under the same key: %w",
				cp.DebateID, cp.Round, cp.Phase, store.ErrConflict)
		case !errors.Is(err, pgx.ErrNoRows):
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
		var last int64
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM debate_events WHERE debate_id = $1`, cp.DebateID).Scan(&last); err != nil {
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
				b.Queue(`INSERT INTO debate_events (debate_id, seq, type, data) VALUES ($1, $2, $3, $4)`, r...)
			}
			b.Queue(`INSERT INTO checkpoints (debate_id, round, phase, seq, event_count, status, state, digest, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
				cp.DebateID, cp.Round, cp.Phase, cp.Seq, len(cp.Events), cp.Status, nullBytes(cp.State), digest, at)
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return err
			}
		} else {
			if _, err := tx.Exec(ctx, `INSERT INTO checkpoints (debate_id, round, phase, seq, event_count, status, state, digest, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
				cp.DebateID, cp.Round, cp.Phase, cp.Seq, 0, cp.Status, nullBytes(cp.State), digest, at); err != nil {
				return err
			}
		}
		if store.Terminal(cp.Status) {
			_, err = tx.Exec(ctx, `UPDATE debates SET last_seq = $1, updated_at = $2, status = $3, finished_at = $2,
				lease_owner = NULL, lease_expires_at = NULL WHERE id = $4`, cp.Seq, at, cp.Status, cp.DebateID)
			if err == nil {
				err = writeFinal(ctx, tx, cp.DebateID, cp.Final, at)
			}
		} else {
			_, err = tx.Exec(ctx, `UPDATE debates SET last_seq = $1, updated_at = $2 WHERE id = $3`, cp.Seq, at, cp.DebateID)
		}
		return err
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
	var (
		n       int64
		state   []byte
		created time.Time
	)
	err := s.retry(ctx, func() error {
		return s.pool.QueryRow(ctx, `SELECT round, phase, seq, event_count, status, state, created_at FROM checkpoints
			WHERE debate_id = $1 ORDER BY id DESC LIMIT 1`, debateID).Scan(&cp.Round, &cp.Phase, &cp.Seq, &n, &cp.Status, &state, &created)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("pgstore: checkpoint of %q: %w", debateID, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: checkpoint of %q: %w", debateID, err)
	}
	cp.State, cp.CreatedAt = state, created.UTC()
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
	var out []store.Event
	err := s.retry(ctx, func() error {
		rows, err := s.pool.Query(ctx, `SELECT seq, type, data FROM debate_events WHERE debate_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
			debateID, afterSeq, lim)
		if err != nil {
			return err
		}
		defer rows.Close()
		out = []store.Event{}
		for rows.Next() {
			e := store.Event{DebateID: debateID}
			var data []byte
			if err := rows.Scan(&e.Seq, &e.Type, &data); err != nil {
				return err
			}
			e.JSON = data
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: list events of %q: %w", debateID, err)
	}
	return out, nil
}

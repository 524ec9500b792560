package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/internal/sqlrec"
)

var _ store.NomicStore = (*Store)(nil)

// The nomic tables (migration 0010): nomic_state (one row), nomic_commands
// and nomic_outcomes. The state write locks the state row (or, before the
// first write, relies on the primary key) so the compare-and-swap on its
// version holds across processes.

// LoadNomicState implements store.NomicStore.
func (s *Store) LoadNomicState(ctx context.Context) (*store.NomicState, error) {
	var st store.NomicState
	err := s.retry(ctx, func() error {
		return s.pool.QueryRow(ctx, `SELECT version, doc, updated_at FROM nomic_state WHERE id = 1`).Scan(&st.Version, &st.Doc, &st.UpdatedAt)
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: nomic state: %w", sqlrec.OrNotFound(err))
	}
	st.UpdatedAt = st.UpdatedAt.UTC()
	return &st, nil
}

// SaveNomicState implements store.NomicStore.
func (s *Store) SaveNomicState(ctx context.Context, expect int64, w store.NomicWrite) (int64, error) {
	err := s.inTxUnsent(ctx, func(tx pgx.Tx) error {
		var cur int64
		err := tx.QueryRow(ctx, `SELECT version FROM nomic_state WHERE id = 1 FOR UPDATE`).Scan(&cur)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if cur != expect {
			return fmt.Errorf("pgstore: nomic state version %d, want %d: %w", cur, expect, store.ErrConflict)
		}
		if o := w.Outcome; o != nil {
			_, err := tx.Exec(ctx, `INSERT INTO nomic_outcomes (cycle_id, number, outcome, committed, reason, started_at, finished_at, doc)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, o.CycleID, o.Number, o.Outcome, o.Committed, o.Reason, ts(o.StartedAt), ts(o.FinishedAt), []byte(o.Doc))
			if isUnique(err) {
				return fmt.Errorf("pgstore: nomic outcome %q: %w", o.CycleID, store.ErrConflict)
			}
			if err != nil {
				return err
			}
		}
		if err := sqlrec.WriteOutbox(ctx, s.shared, pgConn{tx}, w.Outbox); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO nomic_state (id, version, doc, updated_at) VALUES (1, $1, $2, $3)
			ON CONFLICT (id) DO UPDATE SET version = excluded.version, doc = excluded.doc, updated_at = excluded.updated_at
			WHERE nomic_state.version = $4`, expect+1, []byte(w.Doc), ts(w.UpdatedAt), expect)
		if isUnique(err) || err == nil && tag.RowsAffected() != 1 {
			return fmt.Errorf("pgstore: nomic state changed concurrently: %w", store.ErrConflict)
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("pgstore: save nomic state: %w", err)
	}
	return expect + 1, nil
}

// EnqueueNomicCommand implements store.NomicStore.
func (s *Store) EnqueueNomicCommand(ctx context.Context, c store.NomicCommand) error {
	if err := store.CheckNomicCommand(c); err != nil {
		return fmt.Errorf("pgstore: %w", err)
	}
	err := s.inTxUnsent(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO nomic_commands (id, kind, args, status, created_at) VALUES ($1, $2, $3, $4, $5)`,
			c.ID, string(c.Kind), []byte(c.Args), string(store.NomicCommandPending), ts(c.CreatedAt))
		return err
	})
	if isUnique(err) {
		return fmt.Errorf("pgstore: nomic command %q: %w", c.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("pgstore: nomic command %q: %w", c.ID, err)
	}
	return nil
}

const nomicCommandCols = sqlrec.NomicCommandColumns

func scanNomicCommand(r pgx.CollectableRow) (store.NomicCommand, error) {
	return sqlrec.ScanNomicCommand(r)
}

// PendingNomicCommands implements store.NomicStore.
func (s *Store) PendingNomicCommands(ctx context.Context) ([]store.NomicCommand, error) {
	var out []store.NomicCommand
	err := s.retry(ctx, func() error {
		rows, err := s.pool.Query(ctx, `SELECT `+nomicCommandCols+` FROM nomic_commands WHERE status = 'pending' ORDER BY created_at, id`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, scanNomicCommand)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: nomic commands: %w", err)
	}
	return out, nil
}

// AckNomicCommand implements store.NomicStore.
func (s *Store) AckNomicCommand(ctx context.Context, id string, status store.NomicCommandStatus, result json.RawMessage, at time.Time) error {
	if err := store.CheckNomicAck(status); err != nil {
		return fmt.Errorf("pgstore: %w", err)
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var cur store.NomicCommandStatus
		err := tx.QueryRow(ctx, `SELECT status FROM nomic_commands WHERE id = $1 FOR UPDATE`, id).Scan(&cur)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("pgstore: nomic command %q: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if cur != store.NomicCommandPending {
			return fmt.Errorf("pgstore: nomic command %q is %s: %w", id, cur, store.ErrConflict)
		}
		_, err = tx.Exec(ctx, `UPDATE nomic_commands SET status = $1, result = $2, acked_at = $3 WHERE id = $4`, string(status), []byte(result), ts(at), id)
		return err
	})
}

// GetNomicCommand implements store.NomicStore.
func (s *Store) GetNomicCommand(ctx context.Context, id string) (*store.NomicCommand, error) {
	var c store.NomicCommand
	err := s.retry(ctx, func() error {
		rows, err := s.pool.Query(ctx, `SELECT `+nomicCommandCols+` FROM nomic_commands WHERE id = $1`, id)
		if err != nil {
			return err
		}
		c, err = pgx.CollectExactlyOneRow(rows, scanNomicCommand)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: nomic command %q: %w", id, sqlrec.OrNotFound(err))
	}
	return &c, nil
}

// ListNomicOutcomes implements store.NomicStore.
func (s *Store) ListNomicOutcomes(ctx context.Context, limit int) ([]store.NomicOutcome, error) {
	if limit <= 0 {
		limit = store.DefaultLimit
	}
	var out []store.NomicOutcome
	err := s.retry(ctx, func() error {
		rows, err := s.pool.Query(ctx, `SELECT `+sqlrec.NomicOutcomeColumns+`
			FROM nomic_outcomes ORDER BY finished_at DESC, cycle_id DESC LIMIT $1`, limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.NomicOutcome, error) { return sqlrec.ScanNomicOutcome(r) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: nomic outcomes: %w", err)
	}
	return out, nil
}

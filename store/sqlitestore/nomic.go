package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"time"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/internal/sqlrec"
)

var _ store.NomicStore = (*Store)(nil)

// The nomic tables (migration 0010): nomic_state (one row), nomic_commands
// and nomic_outcomes. Writes run in BEGIN IMMEDIATE transactions, so the
// compare-and-swap on the state's version holds across processes.

// LoadNomicState implements store.NomicStore.
func (s *Store) LoadNomicState(ctx context.Context) (*store.NomicState, error) {
	var st store.NomicState
	var updated sql.NullString
	err := s.r.QueryRowContext(ctx, `SELECT version, doc, updated_at FROM nomic_state WHERE id = 1`).Scan(&st.Version, &st.Doc, &updated)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: nomic state: %w", sqlrec.OrNotFound(err))
	}
	if st.UpdatedAt, err = parseTime(updated); err != nil {
		return nil, err
	}
	return &st, nil
}

// SaveNomicState implements store.NomicStore.
func (s *Store) SaveNomicState(ctx context.Context, expect int64, w store.NomicWrite) (int64, error) {
	err := tx(ctx, s.w, func(t *sql.Tx) error {
		var cur int64
		err := t.QueryRowContext(ctx, `SELECT version FROM nomic_state WHERE id = 1`).Scan(&cur)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if cur != expect {
			return fmt.Errorf("sqlitestore: nomic state version %d, want %d: %w", cur, expect, store.ErrConflict)
		}
		if o := w.Outcome; o != nil {
			_, err := t.ExecContext(ctx, `INSERT INTO nomic_outcomes (cycle_id, number, outcome, committed, reason, started_at, finished_at, doc)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, o.CycleID, o.Number, o.Outcome, o.Committed, o.Reason, fmtTime(o.StartedAt), fmtTime(o.FinishedAt), []byte(o.Doc))
			if isConstraint(err) {
				return fmt.Errorf("sqlitestore: nomic outcome %q: %w", o.CycleID, store.ErrConflict)
			}
			if err != nil {
				return err
			}
		}
		if err := sqlrec.WriteOutbox(ctx, s.shared, sqliteConn{t}, w.Outbox); err != nil {
			return err
		}
		_, err = t.ExecContext(ctx, `INSERT INTO nomic_state (id, version, doc, updated_at) VALUES (1, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET version = excluded.version, doc = excluded.doc, updated_at = excluded.updated_at`,
			expect+1, []byte(w.Doc), fmtTime(w.UpdatedAt))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: save nomic state: %w", err)
	}
	return expect + 1, nil
}

// EnqueueNomicCommand implements store.NomicStore.
func (s *Store) EnqueueNomicCommand(ctx context.Context, c store.NomicCommand) error {
	if err := store.CheckNomicCommand(c); err != nil {
		return fmt.Errorf("sqlitestore: %w", err)
	}
	err := tx(ctx, s.w, func(t *sql.Tx) error {
		_, err := t.ExecContext(ctx, `INSERT INTO nomic_commands (id, kind, args, status, created_at) VALUES (?, ?, ?, ?, ?)`,
			c.ID, string(c.Kind), []byte(c.Args), string(store.NomicCommandPending), fmtTime(c.CreatedAt))
		return err
	})
	if isConstraint(err) {
		return fmt.Errorf("sqlitestore: nomic command %q: %w", c.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: nomic command %q: %w", c.ID, err)
	}
	return nil
}

const nomicCommandCols = sqlrec.NomicCommandColumns

// PendingNomicCommands implements store.NomicStore.
func (s *Store) PendingNomicCommands(ctx context.Context) ([]store.NomicCommand, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+nomicCommandCols+` FROM nomic_commands WHERE status = 'pending' ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: nomic commands: %w", err)
	}
	defer rows.Close()
	var out []store.NomicCommand
	for rows.Next() {
		c, err := sqlrec.ScanNomicCommand(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: nomic commands: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// AckNomicCommand implements store.NomicStore.
func (s *Store) AckNomicCommand(ctx context.Context, id string, status store.NomicCommandStatus, result json.RawMessage, at time.Time) error {
	if err := store.CheckNomicAck(status); err != nil {
		return fmt.Errorf("sqlitestore: %w", err)
	}
	return tx(ctx, s.w, func(t *sql.Tx) error {
		var cur store.NomicCommandStatus
		err := t.QueryRowContext(ctx, `SELECT status FROM nomic_commands WHERE id = ?`, id).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlitestore: nomic command %q: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if cur != store.NomicCommandPending {
			return fmt.Errorf("sqlitestore: nomic command %q is %s: %w", id, cur, store.ErrConflict)
		}
		_, err = t.ExecContext(ctx, `UPDATE nomic_commands SET status = ?, result = ?, acked_at = ? WHERE id = ?`, string(status), []byte(result), fmtTime(at), id)
		return err
	})
}

// GetNomicCommand implements store.NomicStore.
func (s *Store) GetNomicCommand(ctx context.Context, id string) (*store.NomicCommand, error) {
	c, err := sqlrec.ScanNomicCommand(s.r.QueryRowContext(ctx, `SELECT `+nomicCommandCols+` FROM nomic_commands WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: nomic command %q: %w", id, sqlrec.OrNotFound(err))
	}
	return &c, nil
}

// ListNomicOutcomes implements store.NomicStore.
func (s *Store) ListNomicOutcomes(ctx context.Context, limit int) ([]store.NomicOutcome, error) {
	if limit <= 0 {
		limit = store.DefaultLimit
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+sqlrec.NomicOutcomeColumns+`
		FROM nomic_outcomes ORDER BY finished_at DESC, cycle_id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: nomic outcomes: %w", err)
	}
	defer rows.Close()
	var out []store.NomicOutcome
	for rows.Next() {
		o, err := sqlrec.ScanNomicOutcome(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: nomic outcomes: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

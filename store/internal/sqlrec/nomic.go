package sqlrec

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aragora/aragora/store"
)

// NomicCommandColumns are the columns of nomic_commands, in the order
// [ScanNomicCommand] reads them.
const NomicCommandColumns = `id, kind, args, status, result, created_at, acked_at`

// ScanNomicCommand reads NomicCommandColumns; empty args and result are nil.
func ScanNomicCommand(row Row) (store.NomicCommand, error) {
	var (
		c            store.NomicCommand
		args, result []byte
	)
	if err := row.Scan(&c.ID, &c.Kind, &args, &c.Status, &result, Time(&c.CreatedAt), Time(&c.AckedAt)); err != nil {
		return c, err
	}
	if len(args) > 0 {
		c.Args = args
	}
	if len(result) > 0 {
		c.Result = result
	}
	return c, nil
}

// NomicOutcomeColumns are the columns of nomic_outcomes (and of the nomic
// loop's own outcomes table), in the order [ScanNomicOutcome] reads them.
const NomicOutcomeColumns = `cycle_id, number, outcome, committed, reason, started_at, finished_at, doc`

// ScanNomicOutcome reads NomicOutcomeColumns.
func ScanNomicOutcome(row Row) (store.NomicOutcome, error) {
	var (
		o   store.NomicOutcome
		doc []byte
	)
	err := row.Scan(&o.CycleID, &o.Number, &o.Outcome, &o.Committed, &o.Reason, Time(&o.StartedAt), Time(&o.FinishedAt), &doc)
	o.Doc = doc
	return o, err
}

// The nomic tables (migration 0010): nomic_state (one row), nomic_commands
// and nomic_outcomes. The state write locks the state row in Postgres (or,
// before the first write, relies on the primary key), and SQLite's write
// transaction holds the database, so the compare-and-swap on its version
// holds across processes.
var (
	nomicState        = NewStmt(`SELECT version, doc, updated_at FROM nomic_state WHERE id = 1`)
	nomicVersion      = forUpdate(`SELECT version FROM nomic_state WHERE id = 1`)
	insertNomicResult = NewStmt(`INSERT INTO nomic_outcomes (` + NomicOutcomeColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`)
	swapNomicState    = NewStmt(`INSERT INTO nomic_state (id, version, doc, updated_at) VALUES (1, $1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET version = excluded.version, doc = excluded.doc, updated_at = excluded.updated_at
		WHERE nomic_state.version = $4`)
	insertNomicCommand = NewStmt(`INSERT INTO nomic_commands (id, kind, args, status, created_at) VALUES ($1, $2, $3, $4, $5)`)
	pendingCommands    = NewStmt(`SELECT ` + NomicCommandColumns + ` FROM nomic_commands WHERE status = 'pending' ORDER BY created_at, id`)
	commandStatus      = forUpdate(`SELECT status FROM nomic_commands WHERE id = $1`)
	ackCommand         = NewStmt(`UPDATE nomic_commands SET status = $1, result = $2, acked_at = $3 WHERE id = $4`)
	nomicCommand       = NewStmt(`SELECT ` + NomicCommandColumns + ` FROM nomic_commands WHERE id = $1`)
	nomicOutcomes      = NewStmt(`SELECT ` + NomicOutcomeColumns + ` FROM nomic_outcomes ORDER BY finished_at DESC, cycle_id DESC LIMIT $1`)
)

// LoadNomicState implements store.NomicStore.
func (s Store) LoadNomicState(ctx context.Context) (*store.NomicState, error) {
	scan := func(row Row) (st *store.NomicState, err error) {
		st = &store.NomicState{}
		return st, row.Scan(&st.Version, &st.Doc, Time(&st.UpdatedAt))
	}
	return One(ctx, s.db, "nomic state", scan, nomicState)
}

// SaveNomicState implements store.NomicStore.
func (s Store) SaveNomicState(ctx context.Context, expect int64, w store.NomicWrite) (int64, error) {
	err := s.db.Tx(ctx, func(c Conn) error {
		cur, err := optional[int64](ctx, c, nomicVersion)
		if err != nil {
			return err
		}
		if cur != expect {
			return s.errorf("nomic state version %d, want %d: %w", cur, expect, store.ErrConflict)
		}
		if o := w.Outcome; o != nil {
			err := c.Exec(ctx, insertNomicResult, o.CycleID, o.Number, o.Outcome, o.Committed, o.Reason,
				c.Time(o.StartedAt), c.Time(o.FinishedAt), []byte(o.Doc))
			if s.db.IsConflict(err) {
				return s.errorf("nomic outcome %q: %w", o.CycleID, store.ErrConflict)
			}
			if err != nil {
				return err
			}
		}
		if err := WriteOutbox(ctx, s, c, w.Outbox); err != nil {
			return err
		}
		n, err := c.Changed(ctx, swapNomicState, expect+1, []byte(w.Doc), c.Time(w.UpdatedAt), expect)
		if s.db.IsConflict(err) || err == nil && n != 1 {
			return s.errorf("nomic state changed concurrently: %w", store.ErrConflict)
		}
		return err
	})
	if err != nil {
		return 0, s.errorf("save nomic state: %w", err)
	}
	return expect + 1, nil
}

// EnqueueNomicCommand implements store.NomicStore.
func (s Store) EnqueueNomicCommand(ctx context.Context, cmd store.NomicCommand) error {
	if err := store.CheckNomicCommand(cmd); err != nil {
		return s.errorf("%w", err)
	}
	err := s.db.Write(ctx, func(c Conn) error {
		return c.Exec(ctx, insertNomicCommand, cmd.ID, string(cmd.Kind), []byte(cmd.Args), string(store.NomicCommandPending), c.Time(cmd.CreatedAt))
	})
	if s.db.IsConflict(err) {
		return s.errorf("nomic command %q: %w", cmd.ID, store.ErrConflict)
	}
	if err != nil {
		return s.errorf("nomic command %q: %w", cmd.ID, err)
	}
	return nil
}

// PendingNomicCommands implements store.NomicStore.
func (s Store) PendingNomicCommands(ctx context.Context) ([]store.NomicCommand, error) {
	return All(ctx, s.db, "nomic commands", ScanNomicCommand, pendingCommands)
}

// AckNomicCommand implements store.NomicStore.
func (s Store) AckNomicCommand(ctx context.Context, id string, status store.NomicCommandStatus, result json.RawMessage, at time.Time) error {
	if err := store.CheckNomicAck(status); err != nil {
		return s.errorf("%w", err)
	}
	return s.db.RewriteTx(ctx, func(c Conn) error {
		var cur store.NomicCommandStatus
		err := c.QueryRow(ctx, commandStatus, id).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return s.errorf("nomic command %q: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if cur != store.NomicCommandPending {
			return s.errorf("nomic command %q is %s: %w", id, cur, store.ErrConflict)
		}
		return c.Exec(ctx, ackCommand, string(status), []byte(result), c.Time(at), id)
	})
}

// GetNomicCommand implements store.NomicStore.
func (s Store) GetNomicCommand(ctx context.Context, id string) (*store.NomicCommand, error) {
	c, err := One(ctx, s.db, fmt.Sprintf("nomic command %q", id), ScanNomicCommand, nomicCommand, id)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// ListNomicOutcomes implements store.NomicStore.
func (s Store) ListNomicOutcomes(ctx context.Context, limit int) ([]store.NomicOutcome, error) {
	return All(ctx, s.db, "nomic outcomes", ScanNomicOutcome, nomicOutcomes, store.PageSize(limit))
}

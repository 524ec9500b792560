package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/internal/sqlrec"
)

const debateColumns = sqlrec.DebateColumns

const getDebateQuery = `SELECT ` + debateColumns + ` FROM debates WHERE id = ?`

// getDebateStmt returns GetDebate's statement, prepared once on the reader
// pool (parsing the query took a third of a GetDebate), or nil when it
// cannot be prepared now (the next call tries again).
func (s *Store) getDebateStmt(ctx context.Context) *sql.Stmt {
	if st := s.getDebate.Load(); st != nil {
		return st
	}
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st := s.getDebate.Load(); st != nil || s.closed {
		return st
	}
	st, err := s.r.PrepareContext(ctx, getDebateQuery)
	if err != nil {
		return nil
	}
	s.getDebate.Store(st)
	return st
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// CreateDebate stores d; ErrConflict if the ID exists.
func (s *Store) CreateDebate(ctx context.Context, d *store.Debate) error {
	return s.CreateDebateWithOutbox(ctx, d, nil)
}

// CreateDebateWithOutbox implements [store.OutboxCreator]: d and the
// outbox messages in one transaction.
func (s *Store) CreateDebateWithOutbox(ctx context.Context, d *store.Debate, outbox []store.OutboxMessage) error {
	if d == nil || d.ID == "" {
		return errors.New("sqlitestore: create debate: empty debate id")
	}
	err := tx(ctx, s.w, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO debates (`+debateColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.ID, d.Topic, d.Status, d.Owner, d.CorrelationID, nullBytes(d.Config), nullBytes(d.Result), d.LastSeq,
			fmtTime(d.CreatedAt), fmtTime(d.UpdatedAt), nullTime(d.StartedAt), nullTime(d.FinishedAt),
			nullString(d.LeaseOwner), nullTime(d.LeaseExpiresAt), d.LeaseGeneration)
		if isConstraint(err) {
			return store.ErrConflict
		}
		if err != nil {
			return err
		}
		return writeOutbox(ctx, tx, outbox)
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: create debate %q: %w", d.ID, err)
	}
	return nil
}

// nullString stores "" as NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// GetDebate returns the debate or an error wrapping ErrNotFound.
func (s *Store) GetDebate(ctx context.Context, id string) (*store.Debate, error) {
	var row *sql.Row
	if st := s.getDebateStmt(ctx); st != nil {
		row = st.QueryRowContext(ctx, id)
	} else {
		row = s.r.QueryRowContext(ctx, getDebateQuery, id)
	}
	d, err := sqlrec.ScanDebate(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlitestore: debate %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: get debate %q: %w", id, err)
	}
	return d, nil
}

// ListDebates returns debates newest first (CreatedAt desc, ID desc).
func (s *Store) ListDebates(ctx context.Context, f store.Filter) ([]*store.Debate, error) {
	var (
		where []string
		args  []any
	)
	if len(f.Statuses) > 0 {
		where = append(where, `status IN (?`+strings.Repeat(`, ?`, len(f.Statuses)-1)+`)`)
		for _, st := range f.Statuses {
			args = append(args, st)
		}
	}
	if f.Owner != "" {
		where = append(where, `owner = ?`)
		args = append(args, f.Owner)
	}
	if f.Cursor != nil {
		c := fmtTime(f.Cursor.CreatedAt)
		where = append(where, `(created_at < ? OR (created_at = ? AND id < ?))`)
		args = append(args, c, c, f.Cursor.ID)
	}
	q := `SELECT ` + debateColumns + ` FROM debates`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = store.DefaultLimit
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, limit)
	return s.queryDebates(ctx, "list debates", q, args...)
}

func (s *Store) queryDebates(ctx context.Context, op, q string, args ...any) ([]*store.Debate, error) {
	return queryAll(ctx, s.r, op, sqlrec.ScanDebate, q, args...)
}

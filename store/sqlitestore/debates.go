package sqlitestore

import (
	"context"
	"database/sql"

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

// GetDebate returns the debate or an error wrapping ErrNotFound.
func (s *Store) GetDebate(ctx context.Context, id string) (*store.Debate, error) {
	var row *sql.Row
	if st := s.getDebateStmt(ctx); st != nil {
		row = st.QueryRowContext(ctx, id)
	} else {
		row = s.r.QueryRowContext(ctx, getDebateQuery, id)
	}
	d, err := sqlrec.ScanDebate(row)
	return sqlrec.GotDebate(s.shared, id, d, err)
}

package pgstore

import (
	"context"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/internal/sqlrec"
)

const debateColumns = sqlrec.DebateColumns

// GetDebate returns the debate or an error wrapping ErrNotFound.
func (s *Store) GetDebate(ctx context.Context, id string) (*store.Debate, error) {
	d, err := queryOne(ctx, s, sqlrec.ScanDebate, `SELECT `+debateColumns+` FROM debates WHERE id = $1`, id)
	return sqlrec.GotDebate(s.shared, id, d, err)
}

package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/internal/sqlrec"
)

// RecordMatch implements [store.RatingStore] in the ratings database.
func (s *Store) RecordMatch(ctx context.Context, m store.Match) ([]store.RatingChange, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("sqlitestore: record match: %w", err)
	}
	at := m.At
	if at.IsZero() {
		at = s.cfg.Now()
	}
	var changes []store.RatingChange
	err := tx(ctx, s.rw, func(tx *sql.Tx) error {
		var err error
		changes, err = sqlrec.RecordMatch(ctx, sqliteConn{tx}, m, at)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: record match %q: %w", m.DebateID, err)
	}
	return changes, nil
}

// Ratings implements [store.RatingStore].
func (s *Store) Ratings(ctx context.Context, domain string) ([]store.Rating, error) {
	return queryAll(ctx, s.rr, "ratings", sqlrec.ScanRating, `SELECT `+sqlrec.RatingColumns+` FROM agent_ratings
		WHERE domain = ? ORDER BY elo DESC, agent`, domain)
}

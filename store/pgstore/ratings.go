package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/internal/sqlrec"
)

// ratingsLockKey serialises rating updates (pg_advisory_xact_lock), so
// concurrent matches never read the same "before" ratings.
const ratingsLockKey = 0x61726167656c6f // "aragelo"

// RecordMatch implements [store.RatingStore].
func (s *Store) RecordMatch(ctx context.Context, m store.Match) ([]store.RatingChange, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("pgstore: record match: %w", err)
	}
	at := m.At
	if at.IsZero() {
		at = s.cfg.Now()
	}
	at = at.UTC()
	var changes []store.RatingChange
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		changes = nil
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(ratingsLockKey)); err != nil {
			return err
		}
		var err error
		changes, err = sqlrec.RecordMatch(ctx, pgConn{tx}, m, at)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: record match %q: %w", m.DebateID, err)
	}
	return changes, nil
}

// Ratings implements [store.RatingStore].
func (s *Store) Ratings(ctx context.Context, domain string) ([]store.Rating, error) {
	return queryAll(ctx, s, "ratings", sqlrec.ScanRating, `SELECT `+sqlrec.RatingColumns+` FROM agent_ratings
		WHERE domain = $1 ORDER BY elo DESC, agent`, domain)
}

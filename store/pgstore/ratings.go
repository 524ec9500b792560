package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aragora/aragora/store"
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
		var stored string
		err := tx.QueryRow(ctx, `SELECT changes FROM rating_matches WHERE debate_id = $1`, m.DebateID).Scan(&stored)
		if err == nil {
			return json.Unmarshal([]byte(stored), &changes)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		updates, err := m.Rate(func(agent, domain string) (elo float64, ok bool, err error) {
			err = tx.QueryRow(ctx, `SELECT elo FROM agent_ratings WHERE agent = $1 AND domain = $2`, agent, domain).Scan(&elo)
			if errors.Is(err, pgx.ErrNoRows) {
				return 0, false, nil
			}
			return elo, err == nil, err
		})
		if err != nil {
			return err
		}
		for _, u := range updates {
			if _, err := tx.Exec(ctx, `INSERT INTO agent_ratings AS r (agent, domain, elo, wins, losses, draws, debates, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, 1, $7)
				ON CONFLICT (agent, domain) DO UPDATE SET elo = excluded.elo, wins = r.wins + excluded.wins,
					losses = r.losses + excluded.losses, draws = r.draws + excluded.draws, debates = r.debates + 1,
					updated_at = excluded.updated_at`, u.Agent, u.Domain, u.After, u.Win, u.Loss, u.Draw, at); err != nil {
				return err
			}
		}
		changes = store.Changes(updates)
		agents, _ := json.Marshal(m.Agents)
		js, err := json.Marshal(changes)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO rating_matches (debate_id, domain, winner, consensus, agents, changes, recorded_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, m.DebateID, m.Domain, m.Winner, m.Consensus, string(agents), string(js), at)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: record match %q: %w", m.DebateID, err)
	}
	return changes, nil
}

// Ratings implements [store.RatingStore].
func (s *Store) Ratings(ctx context.Context, domain string) ([]store.Rating, error) {
	var out []store.Rating
	err := s.retry(ctx, func() error {
		rows, err := s.pool.Query(ctx, `SELECT agent, domain, elo, wins, losses, draws, debates, updated_at FROM agent_ratings
			WHERE domain = $1 ORDER BY elo DESC, agent`, domain)
		if err != nil {
			return err
		}
		defer rows.Close()
		out = []store.Rating{}
		for rows.Next() {
			var r store.Rating
			var at time.Time
			if err := rows.Scan(&r.Agent, &r.Domain, &r.Elo, &r.Wins, &r.Losses, &r.Draws, &r.Debates, &at); err != nil {
				return err
			}
			r.UpdatedAt = at.UTC()
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: ratings: %w", err)
	}
	return out, nil
}

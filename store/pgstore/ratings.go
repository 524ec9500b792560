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
		domains := []string{""}
		if m.Domain != "" {
			domains = append(domains, m.Domain)
		}
		scores := m.Scores()
		for _, dom := range domains {
			before := make([]float64, len(m.Agents))
			for i, a := range m.Agents {
				before[i] = store.EloInitial
				err := tx.QueryRow(ctx, `SELECT elo FROM agent_ratings WHERE agent = $1 AND domain = $2`, a, dom).Scan(&before[i])
				if err != nil && !errors.Is(err, pgx.ErrNoRows) {
					return err
				}
			}
			delta := store.ComputeElo(before, scores)
			for i, a := range m.Agents {
				var win, loss, draw int
				switch {
				case a == m.Winner:
					win = 1
				case m.Consensus:
					draw = 1
				default:
					loss = 1
				}
				after := before[i] + delta[i]
				if _, err := tx.Exec(ctx, `INSERT INTO agent_ratings AS r (agent, domain, elo, wins, losses, draws, debates, updated_at)
					VALUES ($1, $2, $3, $4, $5, $6, 1, $7)
					ON CONFLICT (agent, domain) DO UPDATE SET elo = excluded.elo, wins = r.wins + excluded.wins,
						losses = r.losses + excluded.losses, draws = r.draws + excluded.draws, debates = r.debates + 1,
						updated_at = excluded.updated_at`, a, dom, after, win, loss, draw, at); err != nil {
					return err
				}
				changes = append(changes, store.RatingChange{Agent: a, Domain: dom, Before: before[i], After: after})
			}
		}
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

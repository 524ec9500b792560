package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aragora/aragora/store"
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
		var stored string
		err := tx.QueryRowContext(ctx, `SELECT changes FROM rating_matches WHERE debate_id = ?`, m.DebateID).Scan(&stored)
		if err == nil {
			return json.Unmarshal([]byte(stored), &changes)
		}
		if !errors.Is(err, sql.ErrNoRows) {
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
				err := tx.QueryRowContext(ctx, `SELECT elo FROM agent_ratings WHERE agent = ? AND domain = ?`, a, dom).Scan(&before[i])
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
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
				_, err := tx.ExecContext(ctx, `INSERT INTO agent_ratings (agent, domain, elo, wins, losses, draws, debates, updated_at)
					VALUES (?, ?, ?, ?, ?, ?, 1, ?)
					ON CONFLICT (agent, domain) DO UPDATE SET elo = excluded.elo, wins = wins + excluded.wins,
						losses = losses + excluded.losses, draws = draws + excluded.draws, debates = debates + 1,
						updated_at = excluded.updated_at`,
					a, dom, after, win, loss, draw, fmtTime(at))
				if err != nil {
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
		_, err = tx.ExecContext(ctx, `INSERT INTO rating_matches (debate_id, domain, winner, consensus, agents, changes, recorded_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, m.DebateID, m.Domain, m.Winner, m.Consensus, string(agents), string(js), fmtTime(at))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: record match %q: %w", m.DebateID, err)
	}
	return changes, nil
}

// Ratings implements [store.RatingStore].
func (s *Store) Ratings(ctx context.Context, domain string) ([]store.Rating, error) {
	rows, err := s.rr.QueryContext(ctx, `SELECT agent, domain, elo, wins, losses, draws, debates, updated_at FROM agent_ratings
		WHERE domain = ? ORDER BY elo DESC, agent`, domain)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: ratings: %w", err)
	}
	defer rows.Close()
	out := []store.Rating{}
	for rows.Next() {
		var r store.Rating
		var at sql.NullString
		if err := rows.Scan(&r.Agent, &r.Domain, &r.Elo, &r.Wins, &r.Losses, &r.Draws, &r.Debates, &at); err != nil {
			return nil, fmt.Errorf("sqlitestore: ratings: %w", err)
		}
		if r.UpdatedAt, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: ratings: %w", err)
	}
	return out, nil
}

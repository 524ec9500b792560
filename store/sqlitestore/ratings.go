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
		updates, err := m.Rate(func(agent, domain string) (elo float64, ok bool, err error) {
			err = tx.QueryRowContext(ctx, `SELECT elo FROM agent_ratings WHERE agent = ? AND domain = ?`, agent, domain).Scan(&elo)
			if errors.Is(err, sql.ErrNoRows) {
				return 0, false, nil
			}
			return elo, err == nil, err
		})
		if err != nil {
			return err
		}
		for _, u := range updates {
			_, err := tx.ExecContext(ctx, `INSERT INTO agent_ratings (agent, domain, elo, wins, losses, draws, debates, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, 1, ?)
				ON CONFLICT (agent, domain) DO UPDATE SET elo = excluded.elo, wins = wins + excluded.wins,
					losses = losses + excluded.losses, draws = draws + excluded.draws, debates = debates + 1,
					updated_at = excluded.updated_at`,
				u.Agent, u.Domain, u.After, u.Win, u.Loss, u.Draw, fmtTime(at))
			if err != nil {
				return err
			}
		}
		changes = store.Changes(updates)
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

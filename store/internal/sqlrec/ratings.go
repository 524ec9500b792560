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

var (
	matchChanges = NewStmt(`SELECT changes FROM rating_matches WHERE debate_id = $1`)
	ratingElo    = NewStmt(`SELECT elo FROM agent_ratings WHERE agent = $1 AND domain = $2`)
	upsertRating = NewStmt(`INSERT INTO agent_ratings AS r (agent, domain, elo, wins, losses, draws, debates, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, 1, $7)
		ON CONFLICT (agent, domain) DO UPDATE SET elo = excluded.elo, wins = r.wins + excluded.wins,
			losses = r.losses + excluded.losses, draws = r.draws + excluded.draws, debates = r.debates + 1,
			updated_at = excluded.updated_at`)
	insertMatch = NewStmt(`INSERT INTO rating_matches (debate_id, domain, winner, consensus, agents, changes, recorded_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`)
)

// RatingColumns are the columns of agent_ratings, in the order [ScanRating]
// reads them.
const RatingColumns = `agent, domain, elo, wins, losses, draws, debates, updated_at`

// ScanRating reads RatingColumns.
func ScanRating(row Row) (store.Rating, error) {
	var r store.Rating
	err := row.Scan(&r.Agent, &r.Domain, &r.Elo, &r.Wins, &r.Losses, &r.Draws, &r.Debates, Time(&r.UpdatedAt))
	return r, err
}

// RecordMatch is [store.RatingStore.RecordMatch] inside the backend's
// transaction c (which serialises rating updates): the stored changes of a
// match already recorded, or else the new ratings, written with the match
// at time at.
func RecordMatch(ctx context.Context, c Conn, m store.Match, at time.Time) ([]store.RatingChange, error) {
	var (
		stored  string
		changes []store.RatingChange
	)
	err := c.QueryRow(ctx, matchChanges, m.DebateID).Scan(&stored)
	if err == nil {
		err = json.Unmarshal([]byte(stored), &changes)
		return changes, err
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	updates, err := m.Rate(func(agent, domain string) (elo float64, ok bool, err error) {
		err = c.QueryRow(ctx, ratingElo, agent, domain).Scan(&elo)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, false, nil
		}
		return elo, err == nil, err
	})
	if err != nil {
		return nil, err
	}
	for _, u := range updates {
		if err := c.Exec(ctx, upsertRating, u.Agent, u.Domain, u.After, u.Win, u.Loss, u.Draw, c.Time(at)); err != nil {
			return nil, err
		}
	}
	changes = store.Changes(updates)
	agents, _ := json.Marshal(m.Agents)
	js, err := json.Marshal(changes)
	if err != nil {
		return nil, err
	}
	err = c.Exec(ctx, insertMatch, m.DebateID, m.Domain, m.Winner, m.Consensus, string(agents), string(js), c.Time(at))
	return changes, err
}

var ratingsOf = NewStmt(`SELECT ` + RatingColumns + ` FROM agent_ratings WHERE domain = $1 ORDER BY elo DESC, agent`)

// Ratings implements [store.RatingStore] for both backends, on the
// backend's database of the ratings; each backend embeds it.
type Ratings struct {
	db   DB
	now  func() time.Time
	lock func(context.Context, Conn) error
}

// NewRatings returns the rating operations on db: matches without a time
// are recorded at now(), and each RecordMatch transaction first runs lock
// (when not nil), which must serialise rating updates, so that concurrent
// matches never read the same "before" ratings.
func NewRatings(db DB, now func() time.Time, lock func(context.Context, Conn) error) Ratings {
	return Ratings{db: db, now: now, lock: lock}
}

// RecordMatch implements [store.RatingStore].
func (r Ratings) RecordMatch(ctx context.Context, m store.Match) ([]store.RatingChange, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%s: record match: %w", r.db.Name(), err)
	}
	at := m.At
	if at.IsZero() {
		at = r.now()
	}
	var changes []store.RatingChange
	err := r.db.RewriteTx(ctx, func(c Conn) error {
		changes = nil
		if r.lock != nil {
			if err := r.lock(ctx, c); err != nil {
				return err
			}
		}
		var err error
		changes, err = RecordMatch(ctx, c, m, at)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: record match %q: %w", r.db.Name(), m.DebateID, err)
	}
	return changes, nil
}

// Ratings implements [store.RatingStore].
func (r Ratings) Ratings(ctx context.Context, domain string) ([]store.Rating, error) {
	return All(ctx, r.db, "ratings", ScanRating, ratingsOf, domain)
}

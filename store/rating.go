package store

import (
	"context"
	"errors"
	"time"
)

// ErrInvalidMatch reports a Match that cannot be rated: fewer than two
// agents, a duplicate or empty agent name, or a winner who is not one of
// the agents. Store methods wrap it.
var ErrInvalidMatch = errors.New("store: invalid match")

// Match is one finished debate to rate (docs/debate.md#elo-ratings).
type Match struct {
	DebateID  string   // the idempotency key: a debate is rated once
	Domain    string   // "" rates only the overall ratings
	Agents    []string // the rated participants in agent order, at least two
	Winner    string   // one of Agents
	Consensus bool     // consensus was reached: the others draw, else they lose
	At        time.Time
}

// Rating is one agent's rating overall (Domain "") or in one domain.
// Elo is stored unrounded.
type Rating struct {
	Agent     string
	Domain    string
	Elo       float64
	Wins      int
	Losses    int
	Draws     int
	Debates   int
	UpdatedAt time.Time
}

// RatingChange is one rating moved by a match, overall (Domain "") or in
// the match's domain.
type RatingChange struct {
	Agent  string
	Domain string
	Before float64
	After  float64
}

// Delta returns After − Before.
func (c RatingChange) Delta() float64 { return c.After - c.Before }

// RatingStore is the optional capability that keeps ELO ratings. Backends
// compute with [Match.Rate] and only store its result, so every backend
// rates alike.
type RatingStore interface {
	// RecordMatch applies m to the overall ratings and, when m.Domain is
	// set, to that domain's ratings, atomically with storing the match
	// under m.DebateID. It returns the changes: the overall ones in agent
	// order, then the domain ones in agent order. Recording a debate id
	// again returns the stored changes and changes nothing. ErrInvalidMatch
	// for an invalid m.
	RecordMatch(ctx context.Context, m Match) ([]RatingChange, error)
	// Ratings returns the leaderboard of a domain ("" overall): every rated
	// agent, highest Elo first, then by agent name. An unknown domain
	// yields an empty list.
	Ratings(ctx context.Context, domain string) ([]Rating, error)
}

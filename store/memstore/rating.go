package memstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aragora/aragora/store"
)

type ratingKey struct{ agent, domain string }

// RecordMatch implements [store.RatingStore].
func (s *Store) RecordMatch(ctx context.Context, m store.Match) ([]store.RatingChange, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("memstore: record match: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.matches[m.DebateID]; ok {
		return slices.Clone(old), nil
	}
	at := normTime(m.At)
	updates, _ := m.Rate(func(agent, domain string) (float64, bool, error) {
		r, ok := s.ratings[ratingKey{agent, domain}]
		if !ok {
			return 0, false, nil
		}
		return r.Elo, true, nil
	})
	for _, u := range updates {
		k := ratingKey{u.Agent, u.Domain}
		r, ok := s.ratings[k]
		if !ok {
			r = &store.Rating{Agent: u.Agent, Domain: u.Domain}
			s.ratings[k] = r
		}
		r.Elo = u.After
		r.Wins, r.Losses, r.Draws, r.Debates = r.Wins+u.Win, r.Losses+u.Loss, r.Draws+u.Draw, r.Debates+1
		r.UpdatedAt = at
	}
	changes := store.Changes(updates)
	s.matches[m.DebateID] = changes
	return slices.Clone(changes), nil
}

// Ratings implements [store.RatingStore].
func (s *Store) Ratings(ctx context.Context, domain string) ([]store.Rating, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []store.Rating{}
	for k, r := range s.ratings {
		if k.domain == domain {
			out = append(out, *r)
		}
	}
	slices.SortFunc(out, func(a, b store.Rating) int {
		switch {
		case a.Elo > b.Elo:
			return -1
		case a.Elo < b.Elo:
			return 1
		}
		return strings.Compare(a.Agent, b.Agent)
	})
	return out, nil
}

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
	domains := []string{""}
	if m.Domain != "" {
		domains = append(domains, m.Domain)
	}
	scores := m.Scores()
	var changes []store.RatingChange
	for _, dom := range domains {
		before := make([]float64, len(m.Agents))
		for i, a := range m.Agents {
			before[i] = store.EloInitial
			if r, ok := s.ratings[ratingKey{a, dom}]; ok {
				before[i] = r.Elo
			}
		}
		delta := store.ComputeElo(before, scores)
		for i, a := range m.Agents {
			r, ok := s.ratings[ratingKey{a, dom}]
			if !ok {
				r = &store.Rating{Agent: a, Domain: dom, Elo: store.EloInitial}
				s.ratings[ratingKey{a, dom}] = r
			}
			r.Elo = before[i] + delta[i]
			r.Debates++
			switch {
			case a == m.Winner:
				r.Wins++
			case m.Consensus:
				r.Draws++
			default:
				r.Losses++
			}
			r.UpdatedAt = at
			changes = append(changes, store.RatingChange{Agent: a, Domain: dom, Before: before[i], After: r.Elo})
		}
	}
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

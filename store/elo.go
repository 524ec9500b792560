package store

import (
	"fmt"
	"math"
)

// ELO parameters of docs/debate.md#elo-ratings.
const (
	EloInitial = 1500.0 // the rating of an unrated agent
	EloK       = 32.0   // the K factor
)

// Validate checks m for [RatingStore.RecordMatch]; errors wrap ErrInvalidMatch.
func (m Match) Validate() error {
	if m.DebateID == "" {
		return fmt.Errorf("%w: empty debate id", ErrInvalidMatch)
	}
	if len(m.Agents) < 2 {
		return fmt.Errorf("%w: %d agents, need at least 2", ErrInvalidMatch, len(m.Agents))
	}
	seen := make(map[string]bool, len(m.Agents))
	for _, a := range m.Agents {
		if a == "" || seen[a] {
			return fmt.Errorf("%w: empty or duplicate agent %q", ErrInvalidMatch, a)
		}
		seen[a] = true
	}
	if !seen[m.Winner] {
		return fmt.Errorf("%w: winner %q is not a participant", ErrInvalidMatch, m.Winner)
	}
	return nil
}

// Scores returns each agent's score in m, in agent order: the winner 1,
// every other agent 0.5 with consensus, else 0.
func (m Match) Scores() []float64 {
	out := make([]float64, len(m.Agents))
	for i, a := range m.Agents {
		switch {
		case a == m.Winner:
			out[i] = 1
		case m.Consensus:
			out[i] = 0.5
		}
	}
	return out
}

// RatingUpdate is what one match does to one rating: the change of its
// Elo and the counters to add (exactly one of Win, Loss and Draw is 1;
// the rating's Debates grows by one).
type RatingUpdate struct {
	RatingChange
	Win, Loss, Draw int
}

// Rate computes the outcome of m for every rating it moves: the overall
// ratings in agent order, then (when m.Domain is set) the domain's in
// agent order. before reports an agent's Elo in a domain ("" overall)
// before the match, ok false for an unrated agent (rated from
// EloInitial). This is the one place that turns an outcome into rating
// changes (docs/debate.md#elo-ratings): a [RatingStore] reads with before,
// stores what Rate returns and keeps the changes for m.DebateID.
func (m Match) Rate(before func(agent, domain string) (elo float64, ok bool, err error)) ([]RatingUpdate, error) {
	domains := []string{""}
	if m.Domain != "" {
		domains = append(domains, m.Domain)
	}
	scores := m.Scores()
	out := make([]RatingUpdate, 0, len(domains)*len(m.Agents))
	for _, dom := range domains {
		elo := make([]float64, len(m.Agents))
		for i, a := range m.Agents {
			e, ok, err := before(a, dom)
			if err != nil {
				return nil, err
			}
			elo[i] = EloInitial
			if ok {
				elo[i] = e
			}
		}
		delta := ComputeElo(elo, scores)
		for i, a := range m.Agents {
			u := RatingUpdate{RatingChange: RatingChange{Agent: a, Domain: dom, Before: elo[i], After: elo[i] + delta[i]}}
			switch {
			case a == m.Winner:
				u.Win = 1
			case m.Consensus:
				u.Draw = 1
			default:
				u.Loss = 1
			}
			out = append(out, u)
		}
	}
	return out, nil
}

// Changes returns the rating changes of us, in order.
func Changes(us []RatingUpdate) []RatingChange {
	out := make([]RatingChange, len(us))
	for i, u := range us {
		out[i] = u.RatingChange
	}
	return out
}

// ComputeElo returns each agent's rating change for one match, given the
// ratings before it and the scores, both in agent order (docs/debate.md#elo-ratings):
// for every unordered pair (A, B), actual_A = s_A/(s_A+s_B) (0.5 when both
// are 0), E_A = 1/(1+10^((R_B−R_A)/400)) and Δ = K·(actual_A − E_A); A gains
// Δ and B loses it. All pairs use the ratings before the match. It returns
// nil when the slices differ in length.
func ComputeElo(before, scores []float64) []float64 {
	if len(before) != len(scores) {
		return nil
	}
	delta := make([]float64, len(before))
	for a := range before {
		for b := a + 1; b < len(before); b++ {
			actual := 0.5
			if sum := scores[a] + scores[b]; sum > 0 {
				actual = scores[a] / sum
			}
			expected := 1 / (1 + math.Pow(10, (before[b]-before[a])/400))
			d := EloK * (actual - expected)
			delta[a] += d
			delta[b] -= d
		}
	}
	return delta
}

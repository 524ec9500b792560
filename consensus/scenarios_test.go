package consensus_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/consensus"
)

// TestScenarios checks docs/debate.md rows 1–8 at the level of one round's
// decision: agents a, b, c propose distinct texts and vote with confidence
// 0.8 unless the row says otherwise. Verdicts and round counts belong to
// package debate; here we check what they are computed from.
func TestScenarios(t *testing.T) {
	t.Parallel()
	tests := []struct {
		row         int
		name        string
		method      consensus.Method
		in          consensus.Input
		wantReached bool
		wantConf    float64
		wantWinner  string
		wantSupport []string
		wantDissent []consensus.Dissent
		wantAbstain []string
	}{
		{
			row: 1, name: "votes a, a, a", method: consensus.Majority{},
			in:          input(abc, v{"a", "a", .8}, v{"b", "a", .8}, v{"c", "a", .8}),
			wantReached: true, wantConf: 1, wantWinner: "a", wantSupport: abc,
		},
		{
			row: 2, name: "votes a, a, b", method: consensus.Majority{},
			in:          input(abc, v{"a", "a", .8}, v{"b", "a", .8}, v{"c", "b", .8}),
			wantReached: true, wantConf: 2.0 / 3, wantWinner: "a", wantSupport: []string{"a", "b"},
			wantDissent: []consensus.Dissent{{Agent: "c", Choice: "b", Confidence: .8, Reasons: []string{"because b"}}},
		},
		{
			row: 3, name: "votes a, a, b under supermajority", method: consensus.Supermajority{},
			in:          input(abc, v{"a", "a", .8}, v{"b", "a", .8}, v{"c", "b", .8}),
			wantReached: true, wantConf: 2.0 / 3, wantWinner: "a", wantSupport: []string{"a", "b"},
			wantDissent: []consensus.Dissent{{Agent: "c", Choice: "b", Confidence: .8, Reasons: []string{"because b"}}},
		},
		{
			row: 4, name: "2 agents vote a, b", method: consensus.Majority{},
			in:       input([]string{"a", "b"}, v{"a", "a", .8}, v{"b", "b", .8}),
			wantConf: 0.5, wantWinner: "a", wantSupport: []string{"a"},
			wantDissent: []consensus.Dissent{{Agent: "b", Choice: "b", Confidence: .8, Reasons: []string{"because b"}}},
		},
		{
			row: 5, name: "self-votes a, b, c", method: consensus.Majority{},
			in:       input(abc, v{"a", "a", .8}, v{"b", "b", .8}, v{"c", "c", .8}),
			wantConf: 1.0 / 3, wantWinner: "a", wantSupport: []string{"a"},
			wantDissent: []consensus.Dissent{
				{Agent: "b", Choice: "b", Confidence: .8, Reasons: []string{"because b"}},
				{Agent: "c", Choice: "c", Confidence: .8, Reasons: []string{"because c"}},
			},
		},
		{
			row: 6, name: "a (0.3) and b (0.3) vote a, c (0.9) votes b", method: consensus.Majority{},
			in:          input(abc, v{"a", "a", .3}, v{"b", "a", .3}, v{"c", "b", .9}),
			wantReached: true, wantConf: 0.6, wantWinner: "b", wantSupport: []string{"c"},
			wantDissent: []consensus.Dissent{
				{Agent: "a", Choice: "a", Confidence: .3, Reasons: []string{"because a"}},
				{Agent: "b", Choice: "a", Confidence: .3, Reasons: []string{"because a"}},
			},
		},
		{
			row: 7, name: "weighted 0.7: a (0.9), b (0.8) vote a, c (0.3) votes b", method: consensus.Weighted{Threshold: 0.7},
			in:          input(abc, v{"a", "a", .9}, v{"b", "a", .8}, v{"c", "b", .3}),
			wantReached: true, wantConf: 0.85, wantWinner: "a", wantSupport: []string{"a", "b"},
			wantDissent: []consensus.Dissent{{Agent: "c", Choice: "b", Confidence: .3, Reasons: []string{"because b"}}},
		},
		{
			row: 8, name: "unanimous, c times out, a and b vote a", method: consensus.Unanimous{},
			in:       input(abc, v{"a", "a", .8}, v{"b", "a", .8}),
			wantConf: 1, wantWinner: "a", wantSupport: []string{"a", "b"}, wantAbstain: []string{"c"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := tt.method.Decide(context.Background(), tt.in)
			require.NoError(t, err, "row %d", tt.row)
			assert.Equal(t, tt.wantReached, r.Reached, "row %d", tt.row)
			assert.InDelta(t, tt.wantConf, r.Confidence, eps, "row %d", tt.row)
			assert.Equal(t, tt.wantWinner, r.Winner, "row %d", tt.row)
			assert.Equal(t, tt.wantSupport, r.Supporting, "row %d", tt.row)
			if tt.wantDissent == nil {
				tt.wantDissent = []consensus.Dissent{}
			}
			assert.Equal(t, tt.wantDissent, r.Dissents, "row %d", tt.row)
			if tt.wantAbstain == nil {
				tt.wantAbstain = []string{}
			}
			assert.Equal(t, tt.wantAbstain, r.Abstaining, "row %d", tt.row)
		})
	}
}

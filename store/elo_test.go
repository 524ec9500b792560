package store_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/store"
)

func apply(before, delta []float64) []float64 {
	out := make([]float64, len(before))
	for i := range before {
		out[i] = before[i] + delta[i]
	}
	return out
}

// TestComputeEloWorkedExamples checks the worked examples of docs/debate.md#elo-ratings.
func TestComputeEloWorkedExamples(t *testing.T) {
	t.Parallel()
	abc := []string{"a", "b", "c"}
	start := []float64{1500, 1500, 1500}
	afterConsensus := apply(start, computeFor(store.Match{Agents: abc, Winner: "a", Consensus: true}, start))
	tests := []struct {
		name   string
		m      store.Match
		before []float64
		want   []float64
	}{
		{"consensus, winner a", store.Match{Agents: abc, Winner: "a", Consensus: true}, start, []float64{1510.667, 1494.667, 1494.667}},
		{"no consensus, winner a", store.Match{Agents: abc, Winner: "a"}, start, []float64{1532, 1484, 1484}},
		{"then b wins without consensus", store.Match{Agents: abc, Winner: "b"}, afterConsensus, []float64{1493.19, 1527.40, 1479.40}},
		{"1600 beats 1400", store.Match{Agents: []string{"x", "y"}, Winner: "x"}, []float64{1600, 1400}, []float64{1607.69, 1392.31}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := apply(tt.before, computeFor(tt.m, tt.before))
			for i := range tt.want {
				assert.InDelta(t, tt.want[i], got[i], 0.005, "agent %s", tt.m.Agents[i])
			}
			var sum float64
			for i := range got {
				sum += got[i] - tt.before[i]
			}
			assert.InDelta(t, 0, sum, 1e-9, "zero-sum")
		})
	}
}

func computeFor(m store.Match, before []float64) []float64 {
	return store.ComputeElo(before, m.Scores())
}

func TestComputeEloLengthMismatch(t *testing.T) {
	t.Parallel()
	assert.Nil(t, store.ComputeElo([]float64{1500}, []float64{1, 0}))
}

func TestMatchValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		m    store.Match
		ok   bool
	}{
		{"valid", store.Match{DebateID: "d", Agents: []string{"a", "b"}, Winner: "b"}, true},
		{"no debate id", store.Match{Agents: []string{"a", "b"}, Winner: "a"}, false},
		{"one agent", store.Match{DebateID: "d", Agents: []string{"a"}, Winner: "a"}, false},
		{"duplicate agent", store.Match{DebateID: "d", Agents: []string{"a", "a"}, Winner: "a"}, false},
		{"empty agent", store.Match{DebateID: "d", Agents: []string{"a", ""}, Winner: "a"}, false},
		{"winner not a participant", store.Match{DebateID: "d", Agents: []string{"a", "b"}, Winner: "judge"}, false},
		{"no winner", store.Match{DebateID: "d", Agents: []string{"a", "b"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.m.Validate()
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, store.ErrInvalidMatch)
		})
	}
}

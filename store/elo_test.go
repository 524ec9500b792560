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

// TestMatchRate checks the outcome of a match: overall then domain
// updates in agent order, the stored ratings read through before, the
// counters of the winner, the drawers and the losers.
func TestMatchRate(t *testing.T) {
	t.Parallel()
	stored := map[[2]string]float64{{"a", ""}: 1600, {"b", ""}: 1400}
	before := func(agent, domain string) (float64, bool, error) {
		e, ok := stored[[2]string{agent, domain}]
		return e, ok, nil
	}
	us, err := store.Match{DebateID: "d", Domain: "law", Agents: []string{"a", "b"}, Winner: "a"}.Rate(before)
	require.NoError(t, err)
	require.Len(t, us, 4)
	assert.Equal(t, []string{"", "", "law", "law"}, []string{us[0].Domain, us[1].Domain, us[2].Domain, us[3].Domain})
	assert.InDelta(t, 1607.69, us[0].After, 0.005)
	assert.InDelta(t, 1400, us[1].Before, 0)
	assert.InDelta(t, store.EloInitial+16, us[2].After, 1e-9, "unrated in the domain: both start at EloInitial")
	assert.Equal(t, [3]int{1, 0, 0}, [3]int{us[0].Win, us[0].Loss, us[0].Draw})
	assert.Equal(t, [3]int{0, 1, 0}, [3]int{us[1].Win, us[1].Loss, us[1].Draw})
	assert.Equal(t, us[3].RatingChange, store.Changes(us)[3])

	draw, err := store.Match{DebateID: "d2", Agents: []string{"a", "b", "c"}, Winner: "c", Consensus: true}.Rate(before)
	require.NoError(t, err)
	assert.Equal(t, 1, draw[0].Draw)
	assert.Equal(t, 1, draw[2].Win)

	_, err = store.Match{DebateID: "d3", Agents: []string{"a", "b"}, Winner: "a"}.Rate(func(string, string) (float64, bool, error) {
		return 0, false, store.ErrNotFound
	})
	assert.ErrorIs(t, err, store.ErrNotFound)
}

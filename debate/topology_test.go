package debate_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/store"
)

// critiquePairs runs a debate and returns, per round, the critic→target
// pairs in event order.
func critiquePairs(t *testing.T, cfg debate.Config, n int) map[int][]string {
	t.Helper()
	var ps []debate.Participant
	for i := range n {
		name := fmt.Sprintf("p%d", i)
		f := &fake{proposal: fmt.Sprintf("Proposal number %d: a distinct plan with its own %d-step rollout.", i, i*7+3), vote: "p0"}
		ps = append(ps, debate.Participant{Name: name, Agent: f})
	}
	cfg.DisableEarlyStop = true
	_, rec, err := run(t, cfg, ps)
	require.NoError(t, err)
	out := map[int][]string{}
	for _, e := range rec.all() {
		if e.Type == debate.EventCritique {
			out[e.Round] = append(out[e.Round], e.Agent+">"+e.Data.(debate.CritiqueData).Target)
		}
	}
	return out
}

func TestTopologies(t *testing.T) {
	t.Parallel()
	t.Run("all-to-all", func(t *testing.T) {
		t.Parallel()
		got := critiquePairs(t, debate.Config{Rounds: 1, Topology: "all"}, 3)
		assert.Equal(t, []string{"p0>p1", "p0>p2", "p1>p0", "p1>p2", "p2>p0", "p2>p1"}, got[1])
	})
	t.Run("ring", func(t *testing.T) {
		t.Parallel()
		got := critiquePairs(t, debate.Config{Rounds: 1, Topology: debate.TopologyRing}, 4)
		assert.Equal(t, []string{"p0>p1", "p1>p2", "p2>p3", "p3>p0"}, got[1])
	})
	t.Run("star with moderator", func(t *testing.T) {
		t.Parallel()
		got := critiquePairs(t, debate.Config{Rounds: 1, Topology: debate.TopologyStar, Moderator: "p2"}, 4)
		assert.Equal(t, []string{"p0>p2", "p1>p2", "p2>p0", "p2>p1", "p2>p3", "p3>p2"}, got[1])
	})
	t.Run("sparse k=1 rotates its offset each round", func(t *testing.T) {
		t.Parallel()
		got := critiquePairs(t, debate.Config{Rounds: 4, Topology: debate.TopologySparse, SparseK: 1}, 4)
		assert.Equal(t, []string{"p0>p1", "p1>p2", "p2>p3", "p3>p0"}, got[1], "offset 1")
		assert.Equal(t, []string{"p0>p2", "p1>p3", "p2>p0", "p3>p1"}, got[2], "offset 2")
		assert.Equal(t, []string{"p0>p3", "p1>p0", "p2>p1", "p3>p2"}, got[3], "offset 3")
		assert.Equal(t, got[1], got[4], "offset 1 again")
	})
	t.Run("sparse k=2 writes and receives two each", func(t *testing.T) {
		t.Parallel()
		got := critiquePairs(t, debate.Config{Rounds: 1, Topology: debate.TopologySparse, SparseK: 2}, 5)
		require.Len(t, got[1], 10)
		received := map[string]int{}
		for _, p := range got[1] {
			received[p[len(p)-2:]]++
		}
		for i := range 5 {
			assert.Equal(t, 2, received[fmt.Sprintf("p%d", i)])
		}
	})
	t.Run("sparse with k >= n-1 is all-to-all", func(t *testing.T) {
		t.Parallel()
		assert.Equal(t, critiquePairs(t, debate.Config{Rounds: 1}, 3)[1],
			critiquePairs(t, debate.Config{Rounds: 1, Topology: debate.TopologySparse, SparseK: 5}, 3)[1])
	})
}

func TestConvergenceStop(t *testing.T) {
	t.Parallel()
	same := "Adopt Postgres for billing with a staged migration and a tested rollback plan."
	var ps []debate.Participant
	for _, n := range []string{"a", "b", "c"} {
		ps = append(ps, debate.Participant{Name: n, Agent: &fake{proposal: same, vote: "a"}})
	}
	res, rec, err := run(t, debate.Config{StopOnConvergence: true, DisableEarlyStop: true}, ps)
	require.NoError(t, err)
	assert.Equal(t, debate.StopConverged, res.StopReason)
	assert.Equal(t, 1, res.RoundsUsed)
	assert.True(t, res.ConvergenceDetected)
	assert.InDelta(t, 1.0, res.FinalSimilarity, 1e-9)
	var conv *debate.ConvergenceData
	for _, e := range rec.all() {
		assert.NotEqual(t, debate.EventCritique, e.Type, "a convergence stop skips the critique phase")
		if d, ok := e.Data.(debate.ConvergenceData); ok {
			conv = &d
		}
	}
	require.NotNil(t, conv)
	assert.True(t, conv.Stop)
	assert.Equal(t, []string{"cross_agent"}, conv.Criteria)
	assert.Nil(t, conv.Stability, "no stability in round 1")
}

func TestCostBudget(t *testing.T) {
	t.Parallel()
	ps, fakes := participants("a", "a", "a")
	for i := range ps {
		fakes[ps[i].Name].usage = agent.Usage{InputTokens: 1000, OutputTokens: 1000}
		ps[i].Pricing = debate.Pricing{InputPerMTok: 3, OutputPerMTok: 15} // $0.018 per call
	}
	// propose 0.054 runs; critique is estimated at 6 × 0.018 = 0.108 → 0.162 > 0.1.
	res, _, err := run(t, debate.Config{MaxCostUSD: 0.1}, ps)
	require.NoError(t, err)
	assert.Equal(t, store.StatusBudgetExceeded, res.Status)
	assert.InDelta(t, 0.054, res.CostUSD, 1e-9)
	assert.InDelta(t, 0.018, res.PerAgent["a"].CostUSD, 1e-9)
}

func TestInvalidConfig(t *testing.T) {
	t.Parallel()
	ok := debate.Participant{Name: "a", Agent: agent.Func(nil)}
	ok2 := debate.Participant{Name: "b", Agent: agent.Func(nil)}
	tests := []struct {
		name string
		cfg  debate.Config
		ps   []debate.Participant
	}{
		{"one participant", debate.Config{}, []debate.Participant{ok}},
		{"duplicate names ignoring case", debate.Config{}, []debate.Participant{ok, {Name: "A", Agent: agent.Func(nil)}}},
		{"bad name", debate.Config{}, []debate.Participant{ok, {Name: "b c", Agent: agent.Func(nil)}}},
		{"rounds 21", debate.Config{Rounds: 21}, []debate.Participant{ok, ok2}},
		{"min rounds above rounds", debate.Config{Rounds: 2, MinRounds: 3}, []debate.Participant{ok, ok2}},
		{"unknown topology", debate.Config{Topology: "mesh"}, []debate.Participant{ok, ok2}},
		{"quorum above n", debate.Config{Quorum: 3}, []debate.Participant{ok, ok2}},
		{"judge not a participant", debate.Config{Judge: "zed"}, []debate.Participant{ok, ok2}},
		{"negative budget", debate.Config{MaxTokens: -1}, []debate.Participant{ok, ok2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := debate.New(tt.cfg, tt.ps...)
			require.ErrorIs(t, err, debate.ErrInvalidConfig)
		})
	}
	o, err := debate.New(debate.Config{}, ok, ok2)
	require.NoError(t, err)
	for _, q := range []string{"", "   ", string(make([]rune, 10001))} {
		_, err := o.Run(context.Background(), q)
		require.ErrorIs(t, err, debate.ErrInvalidConfig)
	}
	_, err = o.RunTask(context.Background(), debate.Task{ID: "bad id!", Question: "q?"})
	require.ErrorIs(t, err, debate.ErrInvalidConfig)
}

// revisePrompt runs a 2-round debate of four agents with long proposals and
// returns agent a's revise prompt.
func revisePrompt(t *testing.T, cfg debate.Config) string {
	t.Helper()
	long := strings.Repeat("Postgres gives us transactional integrity and mature tooling. ", 40) // ~2,500 runes
	var mu sync.Mutex
	var prompts []string
	var ps []debate.Participant
	for _, n := range []string{"a", "b", "c", "d"} {
		f := &fake{proposal: n + ": " + long, vote: "a"}
		ps = append(ps, debate.Participant{Name: n, Agent: agent.Func(func(ctx context.Context, req agent.Request) (agent.Response, error) {
			if req.Phase == agent.PhaseRevise && req.Participant == "a" {
				mu.Lock()
				prompts = append(prompts, req.Prompt)
				mu.Unlock()
			}
			return f.Respond(ctx, req)
		})})
	}
	cfg.Rounds, cfg.DisableEarlyStop = 2, true
	_, _, err := run(t, cfg, ps)
	require.NoError(t, err)
	require.Len(t, prompts, 1)
	return prompts[0]
}

func TestPromptBudgetDropsLowPriorityItems(t *testing.T) {
	t.Parallel()
	p := revisePrompt(t, debate.Config{MaxPromptRunes: 4000})
	assert.Contains(t, p, "(3 more items omitted)", "the peers' proposals, lowest priority, are dropped first")
	assert.Contains(t, p, "### Critique from b", "critiques rank above peers' proposals")
	assert.Contains(t, p, "## Question")
	assert.Contains(t, p, "## Instructions")
	assert.Contains(t, p, "Your proposal from the previous round", "the agent's own proposal is never dropped")
	assert.LessOrEqual(t, utf8.RuneCountInString(p), 4000)

	q := revisePrompt(t, debate.Config{MaxQuoteRunes: 200})
	assert.NotContains(t, q, "more items omitted", "everything fits the default budget")
	assert.Equal(t, 3, strings.Count(q, "…[truncated]"), "each peer's quoted proposal is capped at MaxQuoteRunes")
}

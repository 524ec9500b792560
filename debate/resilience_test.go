package debate_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/agenttest"
	"github.com/aragora/aragora/breaker"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/store"
)

// resilient wraps a provider agent the way the binary does: stats →
// fallback → retry → breaker → provider.
func resilient(t *testing.T, name string, provider agent.Agent, reg *breaker.Registry, stats *agent.Stats, fallback agent.Agent) agent.Agent {
	t.Helper()
	return agent.Chain(provider,
		agent.StatsMiddleware(stats, name),
		agent.FallbackMiddleware(agent.FallbackConfig{Agent: fallback, FromProvider: "anthropic", FromModel: "claude-sonnet-4-5",
			ToProvider: "openrouter", ToModel: "anthropic/claude-sonnet-4.5"}),
		agent.Retry(agent.RetryConfig{Sleep: func(context.Context, time.Duration) error { return nil }}),
		breaker.Middleware(reg, name),
	)
}

func TestFailingProviderFallsBackAfterBreakerOpens(t *testing.T) {
	t.Parallel()
	reg, err := breaker.NewRegistry(breaker.Config{MaxFailures: 5, OpenFor: time.Hour})
	require.NoError(t, err)
	stats := agent.NewStats(agent.StatsConfig{})
	down := agent.Func(func(context.Context, agent.Request) (agent.Response, error) {
		return agent.Response{}, agenttest.ServerError("anthropic", 503)
	})
	ps, fakes := participants("b", "b", "b")
	ps[0].Agent = resilient(t, "a", down, reg, stats, fakes["a"])
	res, rec, err := run(t, debate.Config{Rounds: 2, DisableEarlyStop: true}, ps)
	require.NoError(t, err)
	assert.Equal(t, store.StatusConsensusReached, res.Status)
	assert.Equal(t, breaker.StateOpen, reg.Get("a").State())
	// Before the breaker opened, a's calls failed (3 attempts each); after,
	// every call is rescued: agent_error(recoverable) then agent_fallback,
	// then the reply.
	evs := rec.all()
	rescued := 0
	for i, e := range evs {
		if e.Type != debate.EventAgentFallback {
			continue
		}
		rescued++
		require.Greater(t, i, 0)
		prev := evs[i-1].Data.(debate.AgentErrorData)
		assert.True(t, prev.Recoverable)
		assert.Equal(t, agent.KindCircuitOpen, prev.Kind)
		assert.Equal(t, "a", evs[i].Agent)
		assert.Equal(t, "openrouter", evs[i].Data.(debate.AgentFallbackData).To.Provider)
		assert.Contains(t, []debate.EventType{debate.EventProposal, debate.EventCritique, debate.EventVote}, evs[i+1].Type)
	}
	assert.Positive(t, rescued)
	var unrecoverable int
	for _, e := range evs {
		if d, ok := e.Data.(debate.AgentErrorData); ok && !d.Recoverable {
			unrecoverable++
			assert.Equal(t, agent.KindServer, d.Kind)
			assert.Equal(t, 3, d.Attempts)
		}
	}
	assert.Positive(t, unrecoverable, "calls before the breaker opened failed for good")
}

func TestQuotaExhaustedFallsBackAtOnce(t *testing.T) {
	t.Parallel()
	reg, err := breaker.NewRegistry(breaker.Config{})
	require.NoError(t, err)
	stats := agent.NewStats(agent.StatsConfig{})
	var calls atomic.Int64
	broke := agent.Func(func(context.Context, agent.Request) (agent.Response, error) {
		calls.Add(1)
		return agent.Response{}, agenttest.QuotaError("anthropic")
	})
	ps, fakes := participants("a", "a", "a")
	ps[0].Agent = resilient(t, "a", broke, reg, stats, fakes["a"])
	res, rec, err := run(t, debate.Config{Rounds: 1}, ps)
	require.NoError(t, err)
	assert.Equal(t, store.StatusConsensusReached, res.Status)
	assert.Equal(t, breaker.StateClosed, reg.Get("a").State())
	snap := stats.Snapshot("a")
	assert.True(t, snap.QuotaRemaining.Known)
	assert.Equal(t, 0, snap.QuotaRemaining.Value)
	var first debate.Event
	for _, e := range rec.all() {
		if e.Type == debate.EventAgentError {
			first = e
			break
		}
	}
	assert.Equal(t, agent.KindQuotaExhausted, first.Data.(debate.AgentErrorData).Kind)
	assert.True(t, first.Data.(debate.AgentErrorData).Recoverable)
	assert.Equal(t, int64(4), calls.Load(), "one primary attempt per call, never retried: propose, 2 critiques, vote")
}

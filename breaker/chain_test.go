package breaker_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/breaker"
)

// resilient builds the recommended chain, stats → fallback → retry →
// breaker → provider, with a fake sleep so that no test waits.
func resilient(t *testing.T, provider agent.Agent, stats *agent.Stats, reg *breaker.Registry, backup agent.Agent) agent.Agent {
	t.Helper()
	return agent.Chain(provider,
		agent.StatsMiddleware(stats, "claude"),
		agent.FallbackMiddleware(agent.FallbackConfig{Agent: backup, FromProvider: "anthropic", FromModel: "claude-sonnet-4-5"}),
		agent.Retry(agent.RetryConfig{
			Rand:  func() float64 { return 0 },
			Sleep: func(context.Context, time.Duration) error { return nil },
		}),
		breaker.Middleware(reg, "claude"),
	)
}

type counting struct {
	calls atomic.Int32
	err   error
	model string
}

func (c *counting) Respond(context.Context, agent.Request) (agent.Response, error) {
	c.calls.Add(1)
	if c.err != nil {
		return agent.Response{}, c.err
	}
	return agent.Response{Text: "rescued", Provider: "openrouter", Model: c.model}, nil
}

func TestChainBreakerOpensThenFallback(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var changes []string
	reg, err := breaker.NewRegistry(breaker.Config{MaxFailures: 5, OpenFor: time.Hour, OnStateChange: func(name string, from, to breaker.State) {
		mu.Lock()
		defer mu.Unlock()
		changes = append(changes, name+":"+from.String()+"->"+to.String())
	}})
	require.NoError(t, err)
	stats := agent.NewStats(agent.StatsConfig{})
	provider := &counting{err: errServer}
	backup := &counting{model: "anthropic/claude-sonnet-4.5"}
	a := resilient(t, provider, stats, reg, backup)

	// Call 1: three attempts, three failures, breaker still closed, no fallback for a 5xx.
	_, err = a.Respond(t.Context(), agent.Request{})
	require.ErrorIs(t, err, errServer)
	assert.Equal(t, agent.KindServer, agent.KindOf(err))
	assert.Equal(t, 3, agent.Attempts(err))
	assert.Equal(t, breaker.StateClosed, reg.Get("claude").State())

	// Call 2: failures 4 and 5 open the breaker; the third attempt is refused,
	// and the fallback answers with reason circuit_open.
	resp, err := a.Respond(t.Context(), agent.Request{})
	require.NoError(t, err)
	assert.Equal(t, int32(5), provider.calls.Load())
	assert.Equal(t, breaker.StateOpen, reg.Get("claude").State())
	assert.Equal(t, "rescued", resp.Text)
	require.NotNil(t, resp.Fallback)
	assert.Equal(t, agent.KindCircuitOpen, resp.Fallback.Reason)
	assert.ErrorIs(t, resp.Fallback.Err, breaker.ErrOpen)
	assert.Equal(t, "anthropic", resp.Fallback.FromProvider)
	assert.Equal(t, "openrouter", resp.Fallback.ToProvider)
	assert.Equal(t, "anthropic/claude-sonnet-4.5", resp.Fallback.ToModel)

	// Call 3: refused at once, without touching the provider.
	resp, err = a.Respond(t.Context(), agent.Request{})
	require.NoError(t, err)
	require.NotNil(t, resp.Fallback)
	assert.Equal(t, agent.KindCircuitOpen, resp.Fallback.Reason)
	assert.Equal(t, int32(5), provider.calls.Load())
	assert.Equal(t, int32(2), backup.calls.Load())

	snap := stats.Snapshot("claude")
	assert.Equal(t, int64(3), snap.RequestsTotal)
	assert.Equal(t, agent.ErrorCounts{agent.KindServer: 1, agent.KindCircuitOpen: 2}, snap.Errors)
	cb := reg.Snapshot()["claude"]
	assert.Equal(t, breaker.StateOpen, cb.State)
	assert.Equal(t, 5, cb.ConsecutiveFailures)
	require.NotNil(t, cb.LastFailure)
	assert.Equal(t, agent.KindServer, cb.LastFailure.Kind)
	mu.Lock()
	assert.Equal(t, []string{"claude:closed->open"}, changes)
	mu.Unlock()
}

func TestChainQuotaFallsBackAtOnce(t *testing.T) {
	t.Parallel()
	reg, err := breaker.NewRegistry(breaker.Config{MaxFailures: 1, OpenFor: time.Hour})
	require.NoError(t, err)
	stats := agent.NewStats(agent.StatsConfig{})
	provider := &counting{err: errQuota}
	backup := &counting{model: "anthropic/claude-sonnet-4.5"}
	a := resilient(t, provider, stats, reg, backup)

	for range 3 {
		resp, err := a.Respond(t.Context(), agent.Request{})
		require.NoError(t, err)
		require.NotNil(t, resp.Fallback)
		assert.Equal(t, agent.KindQuotaExhausted, resp.Fallback.Reason)
		assert.ErrorIs(t, resp.Fallback.Err, agent.ErrQuotaExhausted)
	}
	assert.Equal(t, int32(3), provider.calls.Load(), "quota is never retried")
	assert.Equal(t, int32(3), backup.calls.Load())
	assert.Equal(t, breaker.StateClosed, reg.Get("claude").State(), "quota does not count against the breaker")

	snap := stats.Snapshot("claude")
	assert.True(t, snap.QuotaExhausted())
	assert.Equal(t, agent.QuotaRemaining{Value: 0, Known: true}, snap.QuotaRemaining)
	assert.Equal(t, agent.ErrorCounts{agent.KindQuotaExhausted: 3}, snap.Errors)
}

// Package captest holds the module-wide table test of agent middleware:
// every middleware of the module × every capability (Respond, Streamer,
// Critic, Voter, Judge) is preserved, and each call goes through the
// middleware's policy.
package captest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/agenttest"
	"github.com/aragora/aragora/breaker"
	"github.com/aragora/aragora/metrics"
	"github.com/aragora/aragora/ratelimit"
)

// recorder is an agent.Recorder that keeps every record.
type recorder struct{ calls []agent.CallRecord }

func (r *recorder) RecordCall(_ string, c agent.CallRecord) { r.calls = append(r.calls, c) }

// row is one middleware of the module. setup returns the middleware, and
// prepares inner (the wrapped Capable) for the policy check; check then
// proves that the call made through capability c went through the policy,
// and verify (when not nil) checks what the middleware recorded.
type row struct {
	name  string
	setup func(t *testing.T, inner *agenttest.Capable) (mw agent.Middleware, verify func(t *testing.T))
	check func(t *testing.T, c agent.Capability, wrapped agent.Agent, inner *agenttest.Capable)
}

var transient = agent.Transient(errors.New("upstream 503"))

func rows() []row {
	return []row{
		{
			name: "agent.Timeout",
			setup: func(*testing.T, *agenttest.Capable) (agent.Middleware, func(*testing.T)) {
				return agent.Timeout(time.Hour), nil
			},
			check: func(t *testing.T, c agent.Capability, w agent.Agent, inner *agenttest.Capable) {
				_, _, err := agenttest.Invoke(context.Background(), w, c)
				require.NoError(t, err)
				calls := inner.Calls()
				require.Len(t, calls, 1)
				assert.False(t, calls[0].Deadline.IsZero(), "the call carries the timeout's deadline")
			},
		},
		{
			name: "agent.Retry",
			setup: func(_ *testing.T, inner *agenttest.Capable) (agent.Middleware, func(*testing.T)) {
				inner.Err, inner.FailFirst = transient, 1
				return agent.Retry(agent.RetryConfig{Sleep: func(context.Context, time.Duration) error { return nil }}), nil
			},
			check: func(t *testing.T, c agent.Capability, w agent.Agent, inner *agenttest.Capable) {
				text, _, err := agenttest.Invoke(context.Background(), w, c)
				require.NoError(t, err, "the second attempt succeeds")
				assert.Equal(t, agenttest.CapableAnswer(c), text)
				assert.Len(t, inner.Calls(), 2, "a transient failure is retried")
			},
		},
		{
			name: "agent.FallbackMiddleware",
			setup: func(_ *testing.T, inner *agenttest.Capable) (agent.Middleware, func(*testing.T)) {
				inner.Err = agent.QuotaExhausted(nil)
				fb := &agenttest.Capable{}
				return agent.FallbackMiddleware(agent.FallbackConfig{Agent: fb}), func(t *testing.T) {
					calls := fb.Calls()
					if assert.Len(t, calls, 1, "the fallback answered") {
						assert.Equal(t, inner.Calls()[0].Capability, calls[0].Capability, "through the same capability")
					}
				}
			},
			check: func(t *testing.T, c agent.Capability, w agent.Agent, inner *agenttest.Capable) {
				text, _, err := agenttest.Invoke(context.Background(), w, c)
				require.NoError(t, err, "the fallback rescues the call")
				assert.Equal(t, agenttest.CapableAnswer(c), text)
				assert.Len(t, inner.Calls(), 1)
			},
		},
		{
			name: "agent.StatsMiddleware",
			setup: func(_ *testing.T, inner *agenttest.Capable) (agent.Middleware, func(*testing.T)) {
				inner.Err = transient
				s := agent.NewStats(agent.StatsConfig{})
				return agent.StatsMiddleware(s, "a"), func(t *testing.T) {
					snap := s.Snapshot("a")
					assert.Equal(t, int64(1), snap.RequestsTotal)
					assert.Equal(t, int64(1), snap.Errors[agent.KindServer])
					assert.Equal(t, agenttest.ModelCapable, snap.Model, "the model comes from agent.Describer")
				}
			},
			check: func(t *testing.T, c agent.Capability, w agent.Agent, _ *agenttest.Capable) {
				_, _, err := agenttest.Invoke(context.Background(), w, c)
				require.ErrorIs(t, err, transient)
			},
		},
		{
			name: "agent.RecorderMiddleware",
			setup: func(*testing.T, *agenttest.Capable) (agent.Middleware, func(*testing.T)) {
				r := &recorder{}
				return agent.RecorderMiddleware(r, "a"), func(t *testing.T) {
					if assert.Len(t, r.calls, 1) {
						assert.Equal(t, agenttest.CapableUsage, r.calls[0].Usage)
						assert.Equal(t, agenttest.ModelCapable, r.calls[0].Model)
					}
				}
			},
			check: func(t *testing.T, c agent.Capability, w agent.Agent, _ *agenttest.Capable) {
				_, _, err := agenttest.Invoke(context.Background(), w, c)
				require.NoError(t, err)
			},
		},
		{
			name: "breaker.Middleware",
			setup: func(t *testing.T, inner *agenttest.Capable) (agent.Middleware, func(*testing.T)) {
				inner.Err = transient
				reg, err := breaker.NewRegistry(breaker.Config{MaxFailures: 1, OpenFor: time.Hour})
				require.NoError(t, err)
				return breaker.Middleware(reg, "a"), nil
			},
			check: func(t *testing.T, c agent.Capability, w agent.Agent, inner *agenttest.Capable) {
				_, _, err := agenttest.Invoke(context.Background(), w, c)
				require.ErrorIs(t, err, transient, "the first failure reaches the caller")
				_, _, err = agenttest.Invoke(context.Background(), w, c)
				require.ErrorIs(t, err, breaker.ErrOpen, "the failure counted: the circuit is open")
				assert.Len(t, inner.Calls(), 1, "an open circuit lets nothing through")
			},
		},
		{
			name: "ratelimit.Middleware",
			setup: func(*testing.T, *agenttest.Capable) (agent.Middleware, func(*testing.T)) {
				return ratelimit.Middleware(rate.NewLimiter(rate.Every(time.Hour), 1)), nil
			},
			check: checkLimited,
		},
		{
			name: "ratelimit.PerKey",
			setup: func(*testing.T, *agenttest.Capable) (agent.Middleware, func(*testing.T)) {
				return ratelimit.PerKey(ratelimit.NewMemory(ratelimit.MemoryConfig{}), ratelimit.Limit{Rate: 1},
					func(req agent.Request) string { return req.Participant }), nil
			},
			check: checkLimited,
		},
		{
			name: "metrics.AgentMiddleware",
			setup: func(*testing.T, *agenttest.Capable) (agent.Middleware, func(*testing.T)) {
				m := metrics.New(metrics.NewRegistry(), metrics.Config{})
				return m.AgentMiddleware("a"), func(t *testing.T) {
					assert.InDelta(t, 1, testutil.ToFloat64(m.AgentRequests.WithLabelValues("a", "success")), 0)
					assert.InDelta(t, 5, testutil.ToFloat64(m.AgentTokens.WithLabelValues("a", "input"))+
						testutil.ToFloat64(m.AgentTokens.WithLabelValues("a", "output")), 0)
				}
			},
			check: func(t *testing.T, c agent.Capability, w agent.Agent, _ *agenttest.Capable) {
				_, _, err := agenttest.Invoke(context.Background(), w, c)
				require.NoError(t, err)
			},
		},
	}
}

// checkLimited checks a limit of one call per hour: the first call
// passes, the second (with a deadline) is refused without reaching inner.
func checkLimited(t *testing.T, c agent.Capability, w agent.Agent, inner *agenttest.Capable) {
	_, _, err := agenttest.Invoke(context.Background(), w, c)
	require.NoError(t, err, "the burst admits one call")
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, _, err = agenttest.Invoke(ctx, w, c)
	require.ErrorIs(t, err, ratelimit.ErrLimited, "the call consumed the limiter's budget")
	assert.Len(t, inner.Calls(), 1)
}

// succeed is each middleware set up for calls that succeed, for
// agenttest.CheckMiddleware.
func succeed(t *testing.T, r row) agent.Middleware {
	switch r.name {
	case "ratelimit.Middleware":
		return ratelimit.Middleware(rate.NewLimiter(rate.Inf, 1))
	case "ratelimit.PerKey":
		return ratelimit.PerKey(ratelimit.NewMemory(ratelimit.MemoryConfig{}), ratelimit.Limit{Rate: 1 << 20},
			func(req agent.Request) string { return req.Participant })
	case "agent.FallbackMiddleware":
		return agent.FallbackMiddleware(agent.FallbackConfig{Agent: &agenttest.Capable{}})
	}
	mw, _ := r.setup(t, &agenttest.Capable{})
	return mw
}

func TestEveryMiddlewareKeepsEveryCapability(t *testing.T) {
	for _, r := range rows() {
		t.Run(r.name, func(t *testing.T) {
			agenttest.CheckMiddleware(t, succeed(t, r))
		})
	}
}

func TestEveryMiddlewareAppliesToEveryCapability(t *testing.T) {
	for _, r := range rows() {
		for _, c := range agent.AllCapabilities {
			t.Run(r.name+"/"+string(c), func(t *testing.T) {
				inner := &agenttest.Capable{}
				mw, verify := r.setup(t, inner)
				w := mw(inner)
				require.True(t, agent.Has(w, c), "%s keeps capability %s", r.name, c)
				r.check(t, c, w, inner)
				if verify != nil {
					verify(t)
				}
				for _, call := range inner.Calls() {
					assert.Equal(t, c, call.Capability, "the call reached the wrapped agent through its own method")
				}
			})
		}
	}
}

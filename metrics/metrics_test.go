package metrics_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/agenttest"
	"github.com/aragora/aragora/agent/demo"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/metrics"
)

func TestAgentMiddleware(t *testing.T) {
	t.Parallel()
	reg := metrics.NewRegistry()
	m := metrics.New(reg, metrics.Config{Agents: []string{"ada"}})
	ok := m.AgentMiddleware("ada")(agenttest.Say("fine"))
	for _, phase := range []agent.Phase{agent.PhasePropose, agent.PhaseCritique, agent.PhaseVote, agent.PhaseJudge} {
		_, err := ok.Respond(context.Background(), agent.Request{Phase: phase})
		require.NoError(t, err)
	}
	failing := m.AgentMiddleware("ada")(agent.Func(func(context.Context, agent.Request) (agent.Response, error) {
		return agent.Response{}, &agent.ProviderError{Provider: "x", StatusCode: 503, Err: errors.New("overloaded")}
	}))
	_, err := failing.Respond(context.Background(), agent.Request{Phase: agent.PhaseVote})
	require.Error(t, err)

	assert.Equal(t, 4.0, testutil.ToFloat64(m.AgentRequests.WithLabelValues("ada", "success")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.AgentRequests.WithLabelValues("ada", "error")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.AgentErrors.WithLabelValues("ada", "server")))
	for phase, want := range map[string]uint64{"propose": 1, "critique": 1, "vote": 2, "judge": 1, "revise": 0} {
		assert.Equal(t, want, histogramCount(t, reg, "aragora_agent_response_seconds", "ada", phase), phase)
	}
}

// histogramCount returns the sample count of the histogram series name
// for agent and phase.
func histogramCount(t *testing.T, reg prometheus.Gatherer, name, agentName, phase string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, met := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range met.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["agent"] == agentName && labels["phase"] == phase {
				return met.GetHistogram().GetSampleCount()
			}
		}
	}
	return 0
}

func TestStreamerStaysStreamer(t *testing.T) {
	t.Parallel()
	reg := metrics.NewRegistry()
	m := metrics.New(reg, metrics.Config{})
	wrapped := m.AgentMiddleware("a")(demo.New("a", "", 1))
	st, isStreamer := wrapped.(agent.Streamer)
	require.True(t, isStreamer)
	var chunks int
	_, err := st.RespondStream(context.Background(), agent.Request{Phase: agent.PhasePropose, Question: "Q?"}, func(string) { chunks++ })
	require.NoError(t, err)
	assert.Positive(t, chunks)
	assert.Equal(t, uint64(1), histogramCount(t, reg, "aragora_agent_response_seconds", "a", "propose"))
}

func TestRedisUpAbsentWithoutRedis(t *testing.T) {
	t.Parallel()
	for _, redis := range []bool{false, true} {
		reg := metrics.NewRegistry()
		metrics.New(reg, metrics.Config{Redis: redis})
		mfs, err := reg.Gather()
		require.NoError(t, err)
		found := false
		for _, mf := range mfs {
			found = found || mf.GetName() == "aragora_redis_up"
		}
		assert.Equal(t, redis, found)
	}
}

func TestOrchestratorOverheadFromRealDebate(t *testing.T) {
	t.Parallel()
	reg := metrics.NewRegistry()
	m := metrics.New(reg, metrics.Config{})
	var ps []debate.Participant
	for _, n := range []string{"demo-a", "demo-b"} {
		ps = append(ps, debate.Participant{Name: n, Agent: demo.New(n, demo.StyleBalanced, 1)})
	}
	o, err := debate.New(debate.Config{Rounds: 2, DisableEarlyStop: true, OnRound: m.ObserveRound}, ps...)
	require.NoError(t, err)
	_, err = o.Run(context.Background(), "Adopt Postgres?")
	require.NoError(t, err)
	assert.Equal(t, 1, testutil.CollectAndCount(m.OrchestratorOverhead, "aragora_orchestrator_overhead_seconds"))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == "aragora_orchestrator_overhead_seconds" {
			assert.Equal(t, uint64(2), mf.GetMetric()[0].GetHistogram().GetSampleCount(), "one sample per round")
		}
	}
}

func TestWebhookSeries(t *testing.T) {
	t.Parallel()
	reg := metrics.NewRegistry()
	m := metrics.New(reg, metrics.Config{WebhookQueueCapacity: 1000})
	for _, o := range metrics.WebhookOutcomes {
		assert.Equal(t, 0.0, testutil.ToFloat64(m.WebhookDeliveries.WithLabelValues(o)), "%s pre-initialised", o)
	}
	assert.Equal(t, 1000.0, testutil.ToFloat64(m.WebhookQueueCapacity))
	m.ObserveWebhook("success")
	m.ObserveWebhook("overflow")
	m.ObserveWebhook("deferred") // not an outcome label: ignored
	assert.Equal(t, 1.0, testutil.ToFloat64(m.WebhookDeliveries.WithLabelValues("success")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.WebhookDeliveries.WithLabelValues("overflow")))
	assert.Equal(t, 4, testutil.CollectAndCount(m.WebhookDeliveries))
	m.SetWebhookQueue(12, 5000, 840200*time.Millisecond, 3)
	assert.Equal(t, 12.0, testutil.ToFloat64(m.WebhookQueueSize))
	assert.Equal(t, 5000.0, testutil.ToFloat64(m.WebhookQueueCapacity))
	assert.Equal(t, 840.2, testutil.ToFloat64(m.WebhookQueueOldestAge))
	assert.Equal(t, 3.0, testutil.ToFloat64(m.WebhookDeadLetter))
}

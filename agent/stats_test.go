package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/internal/testclock"
)

func newClock() *testclock.Clock { return testclock.New(time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)) }

func TestStatsLatency(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := agent.NewStats(agent.StatsConfig{Now: clk.Now})
	assert.Nil(t, s.Snapshot("a").Latency, "no samples")
	for i := 1; i <= 100; i++ {
		s.RecordCall("a", agent.CallRecord{Duration: time.Duration(i) * time.Millisecond})
	}
	snap := s.Snapshot("a")
	require.NotNil(t, snap.Latency)
	assert.Equal(t, agent.Latency{P50: 50, P95: 95}, *snap.Latency)
	assert.Equal(t, int64(100), snap.RequestsTotal)

	clk.Advance(10 * time.Minute)
	for range 100 {
		s.RecordCall("a", agent.CallRecord{Duration: time.Second})
	}
	assert.Equal(t, agent.Latency{P50: 100, P95: 1000}, *s.Snapshot("a").Latency)
	clk.Advance(6 * time.Minute) // the first 100 samples are now older than 15 min
	assert.Equal(t, agent.Latency{P50: 1000, P95: 1000}, *s.Snapshot("a").Latency)
	clk.Advance(time.Hour)
	assert.Nil(t, s.Snapshot("a").Latency, "every sample is out of the window")
}

func TestStatsSampleCap(t *testing.T) {
	t.Parallel()
	s := agent.NewStats(agent.StatsConfig{Now: newClock().Now, LatencySamples: 10})
	for i := 1; i <= 25; i++ {
		s.RecordCall("a", agent.CallRecord{Duration: time.Duration(i) * time.Millisecond})
	}
	// Only samples 16..25 remain.
	assert.Equal(t, agent.Latency{P50: 20, P95: 25}, *s.Snapshot("a").Latency)
}

func TestStatsErrorsAndJSON(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := agent.NewStats(agent.StatsConfig{Now: clk.Now})
	s.RecordCall("claude", agent.CallRecord{Duration: 812 * time.Millisecond})
	s.RecordCall("claude", agent.CallRecord{Duration: time.Second, Err: context.DeadlineExceeded})
	s.RecordCall("claude", agent.CallRecord{Duration: time.Second, Err: err503})
	s.RecordCall("claude", agent.CallRecord{Duration: time.Second, Err: err500})
	snap := s.Snapshot("claude")
	assert.Equal(t, agent.ErrorCounts{agent.KindTimeout: 1, agent.KindServer: 2}, snap.Errors)
	assert.Equal(t, int64(3), snap.Errors.Total())
	require.NotNil(t, snap.LastError)
	assert.Equal(t, agent.LastError{Kind: agent.KindServer, Message: err500.Error(), At: clk.Now()}, *snap.LastError)
	assert.False(t, snap.QuotaExhausted())

	b, err := json.Marshal(snap)
	require.NoError(t, err)
	assert.JSONEq(t, `{"name":"claude","requests_total":4,
		"errors":{"total":3,"timeout":1,"rate_limited":0,"quota_exhausted":0,"auth":0,"server":2,"circuit_open":0,"invalid_response":0,"cancelled":0,"other":0},
		"last_error":{"kind":"server","message":"agent: p: status 500: internal","at":"2024-01-15T10:00:00Z"},
		"latency_ms":{"p50":1000,"p95":1000},"quota_remaining":"unknown","quota_reset_at":null}`, string(b))

	empty, err := json.Marshal(s.Snapshot("never"))
	require.NoError(t, err)
	assert.JSONEq(t, `{"name":"never","requests_total":0,
		"errors":{"total":0,"timeout":0,"rate_limited":0,"quota_exhausted":0,"auth":0,"server":0,"circuit_open":0,"invalid_response":0,"cancelled":0,"other":0},
		"last_error":null,"latency_ms":null,"quota_remaining":"unknown","quota_reset_at":null}`, string(empty))
	assert.Equal(t, []string{"claude"}, s.Names())
}

func TestStatsQuota(t *testing.T) {
	t.Parallel()
	t.Run("reported", func(t *testing.T) {
		t.Parallel()
		s := agent.NewStats(agent.StatsConfig{Now: newClock().Now})
		s.QuotaReporter("a")(agent.QuotaReport{Remaining: 42})
		assert.Equal(t, agent.QuotaRemaining{Value: 42, Known: true}, s.Snapshot("a").QuotaRemaining)
		b, err := json.Marshal(s.Snapshot("a").QuotaRemaining)
		require.NoError(t, err)
		assert.JSONEq(t, `42`, string(b))
	})
	t.Run("exhausted for an hour without a hint", func(t *testing.T) {
		t.Parallel()
		clk := newClock()
		s := agent.NewStats(agent.StatsConfig{Now: clk.Now})
		s.ReportQuota("a", agent.QuotaReport{Remaining: 3})
		start := clk.Now()
		s.RecordCall("a", agent.CallRecord{Err: errQuota})
		snap := s.Snapshot("a")
		assert.True(t, snap.QuotaExhausted())
		assert.Equal(t, agent.QuotaRemaining{Value: 0, Known: true}, snap.QuotaRemaining)
		require.NotNil(t, snap.QuotaResetAt)
		assert.Equal(t, start.Add(time.Hour), *snap.QuotaResetAt)
		b, err := json.Marshal(snap.QuotaRemaining)
		require.NoError(t, err)
		assert.JSONEq(t, `0`, string(b))

		clk.Advance(59 * time.Minute)
		assert.True(t, s.Snapshot("a").QuotaExhausted())
		clk.Advance(time.Minute)
		snap = s.Snapshot("a")
		assert.False(t, snap.QuotaExhausted())
		assert.Equal(t, agent.QuotaRemaining{}, snap.QuotaRemaining, "unknown after the reset")
	})
	t.Run("provider hint", func(t *testing.T) {
		t.Parallel()
		clk := newClock()
		s := agent.NewStats(agent.StatsConfig{Now: clk.Now})
		hinted := &agent.ProviderError{Provider: "p", StatusCode: 429, RetryAfter: 5 * time.Minute, Err: agent.ErrQuotaExhausted}
		s.RecordCall("a", agent.CallRecord{Err: hinted})
		assert.Equal(t, clk.Now().Add(5*time.Minute), *s.Snapshot("a").QuotaResetAt)
	})
	t.Run("reset hint from headers", func(t *testing.T) {
		t.Parallel()
		clk := newClock()
		s := agent.NewStats(agent.StatsConfig{Now: clk.Now})
		s.ReportQuota("a", agent.QuotaReport{Remaining: 0, ResetAt: clk.Now().Add(time.Minute)})
		assert.True(t, s.Snapshot("a").QuotaExhausted())
		s.ReportQuota("a", agent.QuotaReport{Remaining: 9})
		snap := s.Snapshot("a")
		assert.False(t, snap.QuotaExhausted(), "a positive report ends the exhausted period")
		assert.Equal(t, agent.QuotaRemaining{Value: 9, Known: true}, snap.QuotaRemaining)
	})
}

func TestStatsMiddleware(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := agent.NewStats(agent.StatsConfig{Now: clk.Now})
	slow := agent.Func(func(context.Context, agent.Request) (agent.Response, error) {
		clk.Advance(250 * time.Millisecond)
		return agent.Response{Text: "ok"}, nil
	})
	a := agent.Chain(slow, agent.StatsMiddleware(s, "a"))
	_, err := a.Respond(t.Context(), agent.Request{})
	require.NoError(t, err)
	failing := agent.Chain(&script{errs: []error{errQuota}}, agent.StatsMiddleware(s, "a"))
	_, err = failing.Respond(t.Context(), agent.Request{})
	require.ErrorIs(t, err, errQuota)

	snap := s.Snapshot("a")
	assert.Equal(t, int64(2), snap.RequestsTotal)
	assert.Equal(t, agent.ErrorCounts{agent.KindQuotaExhausted: 1}, snap.Errors)
	assert.Equal(t, agent.Latency{P50: 0, P95: 250}, *snap.Latency)
	assert.True(t, snap.QuotaExhausted())

	_, ok := agent.Chain(streamScript{&script{}}, agent.StatsMiddleware(s, "b")).(agent.Streamer)
	assert.True(t, ok, "StatsMiddleware preserves Streamer")
}

func TestStatsConcurrent(t *testing.T) {
	t.Parallel()
	s := agent.NewStats(agent.StatsConfig{LatencySamples: 50})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			name := fmt.Sprintf("a%d", i%2)
			for j := range 100 {
				var err error
				if j%3 == 0 {
					err = err503
				}
				s.RecordCall(name, agent.CallRecord{Duration: time.Millisecond, Err: err})
				s.ReportQuota(name, agent.QuotaReport{Remaining: j})
				_ = s.Snapshot(name)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(400), s.Snapshot("a0").RequestsTotal)
	assert.Equal(t, int64(4*34), s.Snapshot("a1").Errors[agent.KindServer])
}

// recorder collects call records.
type recorder struct {
	mu    sync.Mutex
	calls []agent.CallRecord
}

func (r *recorder) RecordCall(name string, c agent.CallRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c.Duration = 0 // wall clock: not asserted
	r.calls = append(r.calls, c)
}

func TestRecorderMiddleware(t *testing.T) {
	t.Parallel()
	var rec recorder
	ok := agent.Func(func(context.Context, agent.Request) (agent.Response, error) {
		return agent.Response{Text: "x", Provider: "anthropic", Model: "m", Usage: agent.Usage{InputTokens: 3, OutputTokens: 4}, CostUSD: 0.5, Attempts: 2}, nil
	})
	_, err := agent.Chain(ok, agent.RecorderMiddleware(&rec, "a")).Respond(t.Context(), agent.Request{})
	require.NoError(t, err)
	failed := &agent.AttemptsError{Attempts: 3, Err: err503}
	_, err = agent.Chain(&script{errs: []error{failed}}, agent.RecorderMiddleware(&rec, "a")).Respond(t.Context(), agent.Request{})
	require.Error(t, err)
	assert.Equal(t, []agent.CallRecord{
		{Provider: "anthropic", Model: "m", Usage: agent.Usage{InputTokens: 3, OutputTokens: 4}, CostUSD: 0.5, Attempts: 2},
		{Provider: "p", Err: failed, Kind: agent.KindServer, Attempts: 3},
	}, rec.calls)
}

func TestStatsOnQuotaExhausted(t *testing.T) {
	t.Parallel()
	clk := newClock()
	type call struct {
		agent, provider string
		resetAt         time.Time
	}
	var calls []call
	s := agent.NewStats(agent.StatsConfig{Now: clk.Now, OnQuotaExhausted: func(a, p string, r time.Time) {
		calls = append(calls, call{a, p, r})
	}})
	start := clk.Now()
	s.RecordCall("claude", agent.CallRecord{Provider: "anthropic", Err: errQuota})
	clk.Advance(time.Minute)
	s.RecordCall("claude", agent.CallRecord{Provider: "anthropic", Err: errQuota}) // still exhausted: no new event
	s.RecordCall("claude", agent.CallRecord{Provider: "anthropic", Err: fmt.Errorf("boom")})
	require.Len(t, calls, 1)
	assert.Equal(t, call{"claude", "anthropic", start.Add(time.Hour)}, calls[0])
	clk.Advance(2 * time.Hour) // the quota came back, then ran out again
	s.RecordCall("claude", agent.CallRecord{Provider: "anthropic", Err: errQuota})
	require.Len(t, calls, 2)
	assert.Equal(t, clk.Now().Add(time.Hour), calls[1].resetAt)
}

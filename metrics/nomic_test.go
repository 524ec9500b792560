package metrics_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/metrics"
	"github.com/aragora/aragora/nomic"
)

func scrapeText(t *testing.T, reg prometheus.Gatherer) string {
	t.Helper()
	w := httptest.NewRecorder()
	metrics.Handler(reg).ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	return w.Body.String()
}

// TestNomicSeriesIdleFromTheFirstScrape: before any loop has reported,
// the ten nomic metrics are exported as an idle loop.
func TestNomicSeriesIdleFromTheFirstScrape(t *testing.T) {
	reg := metrics.NewRegistry()
	metrics.New(reg, metrics.Config{})
	body := scrapeText(t, reg)
	for _, want := range []string{
		"aragora_nomic_current_phase 0", "aragora_nomic_cycles_in_progress 0", "aragora_nomic_circuit_breakers_open 0",
		"aragora_nomic_phase_last_transition_timestamp 0",
		`aragora_nomic_cycles_total{outcome="failure"} 0`, `aragora_nomic_phase_transitions_total{from_phase="idle",to_phase="context"} 0`,
		`aragora_nomic_phase_duration_seconds_count{phase="verify"} 0`, `aragora_nomic_errors_total{error_type="test_failure",phase="verify"} 0`,
		`aragora_nomic_recovery_decisions_total{strategy="rollback"} 0`, `aragora_nomic_retries_total{phase="debate"} 0`,
	} {
		assert.Contains(t, body, want+"\n")
	}
}

// TestNomicSeriesFromTheStoredState: a running, paused loop's counters.
func TestNomicSeriesFromTheStoredState(t *testing.T) {
	now := time.Now().UTC()
	st, err := nomic.DecodeState(nil)
	require.NoError(t, err)
	st.Loop = &nomic.LoopInfo{PID: 1, HeartbeatAt: now}
	st.Cycle = &nomic.CycleInfo{ID: "c_1", Number: 1}
	st.Phase, st.LastTransitionAt = nomic.PhaseVerify, time.Unix(1700000000, 0)
	st.Paused = &nomic.Paused{At: now}
	st.Breakers["gpt-4"] = &nomic.Brk{State: "open"}
	st.Counters.Cycles["failure"] = 3
	st.Counters.Errors["verify/test_failure"] = 2
	st.Counters.Transitions["verify->failed"] = 1
	h := &nomic.Histogram{}
	h.Observe(42)
	st.Counters.PhaseDurations["verify"] = h
	reg := metrics.NewRegistry()
	m := metrics.New(reg, metrics.Config{})
	calls := 0
	m.SetNomicSource(func(context.Context) (*nomic.State, error) { calls++; return st, nil })
	body := scrapeText(t, reg)
	for _, want := range []string{
		"aragora_nomic_current_phase 7", "aragora_nomic_cycles_in_progress 1", "aragora_nomic_circuit_breakers_open 1",
		"aragora_nomic_phase_last_transition_timestamp 1.7e+09",
		`aragora_nomic_cycles_total{outcome="failure"} 3`, `aragora_nomic_errors_total{error_type="test_failure",phase="verify"} 2`,
		`aragora_nomic_phase_transitions_total{from_phase="verify",to_phase="failed"} 1`,
		`aragora_nomic_phase_duration_seconds_bucket{phase="verify",le="60"} 1`, `aragora_nomic_phase_duration_seconds_bucket{phase="verify",le="30"} 0`,
	} {
		assert.Contains(t, body, want+"\n")
	}
	scrapeText(t, reg)
	assert.Equal(t, 1, calls, "the state is cached between scrapes")
	assert.False(t, strings.Contains(body, "aragora_nomic_current_phase 5"))
}

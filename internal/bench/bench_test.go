package bench

import (
	"context"
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/agent"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMedian(t *testing.T) {
	t.Parallel()
	runs := []Table{
		{{Scenario: "s", Case: "c", Metric: "m", Value: 1, Baseline: "b", BaselineValue: 10}},
		{{Scenario: "s", Case: "c", Metric: "m", Value: 3, Baseline: "b", BaselineValue: 30}},
		{{Scenario: "s", Case: "c", Metric: "m", Value: 2, Baseline: "b", BaselineValue: 20}, {Scenario: "s", Case: "c", Metric: "n", Value: 7}},
	}
	got := Median(runs)
	require.Len(t, got, 2)
	assert.Equal(t, 2.0, got[0].Value)
	assert.Equal(t, 20.0, got[0].BaselineValue)
	assert.Equal(t, 0.1, got[0].Ratio())
	assert.True(t, math.IsNaN(got[1].Ratio()))
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	ds := []time.Duration{5, 1, 4, 2, 3}
	for _, c := range []struct {
		name string
		p    float64
		want time.Duration
	}{{"p0", 0, 1}, {"p50", 50, 3}, {"p99", 99, 5}, {"p100", 100, 5}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, c.want, percentile(ds, c.p))
		})
	}
	assert.Equal(t, time.Duration(0), percentile(nil, 50))
}

// TestScenariosSmoke runs the in-process scenarios with tiny parameters;
// the figures are meaningless, only the plumbing is checked. The peer
// scenario has its own in package peerbench.
func TestScenariosSmoke(t *testing.T) {
	ctx := context.Background()
	eng, err := Engine(ctx, EngineConfig{Agents: 3, Rounds: 1, Concurrent: 4, SerialFor: 50 * time.Millisecond,
		OverheadSleep: 2 * time.Millisecond, OverheadRuns: 1, SlowSleep: time.Millisecond})
	require.NoError(t, err)
	assert.NotEmpty(t, eng)
	st, err := Store(ctx, StoreConfig{Duration: 20 * time.Millisecond})
	require.NoError(t, err)
	assert.Len(t, st, 6)
	for _, r := range append(eng, st...) {
		assert.Positive(t, r.Value, "%s %s %s", r.Scenario, r.Case, r.Metric)
	}
}

func TestHeapProbe(t *testing.T) {
	// Sample finely enough for the few debates' heap to be seen.
	defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
	runtime.MemProfileRate = 512
	// Both ways hold the agents' answers, so the profile always comes
	// before the run ends: after 20 ms (the agents sleep 50 ms three
	// times), or once every debate has made its critiques.
	for name, probe := range map[string]HeapProbe{"after": {After: 20 * time.Millisecond},
		"phase": {Round: 1, Phase: agent.PhaseCritique}} {
		t.Run(name, func(t *testing.T) {
			probe.Path = t.TempDir() + "/heap.prof"
			rows, err := EngineConcurrentSlow(context.Background(), EngineConfig{Agents: 3, Rounds: 1, Concurrent: 8,
				SlowSleep: 50 * time.Millisecond, Heap: probe})
			require.NoError(t, err)
			got := map[string]float64{}
			for _, r := range rows {
				got[r.Metric] = r.Value
			}
			assert.Equal(t, 8.0, got["debates in flight at the heap profile"])
			assert.Positive(t, got["live heap per debate in flight (KiB, profiled)"])
			assert.FileExists(t, probe.Path)
		})
	}
}

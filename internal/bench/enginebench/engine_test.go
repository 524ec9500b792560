package enginebench

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
	"github.com/aragora/aragora/internal/bench/measure"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestEngineSmoke runs the engine scenarios with tiny parameters; the
// figures are meaningless, only the plumbing is checked.
func TestEngineSmoke(t *testing.T) {
	eng, err := Engine(context.Background(), EngineConfig{Agents: 3, Rounds: 1, Concurrent: 4, SerialFor: 50 * time.Millisecond,
		OverheadSleep: 2 * time.Millisecond, OverheadRuns: 1, SlowSleep: time.Millisecond})
	require.NoError(t, err)
	assert.NotEmpty(t, eng)
	for _, r := range eng {
		if r.Metric == "GC cycles" { // a run this small may need none: a whole count
			assert.True(t, r.Value >= 0 && r.Value == math.Trunc(r.Value), "%s %s: %v GC cycles", r.Scenario, r.Case, r.Value)
			continue
		}
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
	for name, probe := range map[string]measure.HeapProbe{"after": {After: 20 * time.Millisecond},
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

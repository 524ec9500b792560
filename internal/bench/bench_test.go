package bench

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
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
// the figures are meaningless, only the plumbing is checked. The engine
// and peer scenarios have their own in packages enginebench and peerbench.
func TestScenariosSmoke(t *testing.T) {
	st, err := Store(context.Background(), StoreConfig{Duration: 20 * time.Millisecond})
	require.NoError(t, err)
	assert.Len(t, st, 6)
	for _, r := range st {
		assert.Positive(t, r.Value, "%s %s %s", r.Scenario, r.Case, r.Metric)
	}
}

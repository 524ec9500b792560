package tick_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/internal/tick"
)

func TestEveryStopsWhenFSaysSo(t *testing.T) {
	t.Parallel()
	calls := 0
	tick.Every(context.Background(), time.Millisecond, func() bool {
		calls++
		return calls < 3
	})
	assert.Equal(t, 3, calls)
}

func TestEveryStopsWithItsContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := 0
	tick.Every(ctx, time.Hour, func() bool {
		calls++
		return true
	})
	assert.Zero(t, calls, "an ended context ends the loop before the first tick")
}

func TestBothRunsEachJobAtItsPeriod(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var fast, slow int
	tick.Both(ctx, tick.Job{Period: time.Millisecond, Run: func() {
		if fast++; fast == 3 {
			cancel()
		}
	}}, tick.Job{Period: time.Hour, Run: func() { slow++ }})
	assert.GreaterOrEqual(t, fast, 3, "the fast job ran until it ended the context")
	assert.Zero(t, slow, "the slow job's period never came")
}

// TestMain checks that Every leaves no goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

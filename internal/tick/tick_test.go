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

// TestMain checks that Every leaves no goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

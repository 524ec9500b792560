// Package ratelimittest holds the behavioural suite that every
// ratelimit.Keyed implementation runs (ratelimit.Memory, redislimit,
// ratelimit.Fallback). Import it only from tests.
package ratelimittest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aragora/aragora/ratelimit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Factory returns a new limiter whose keys do not collide with those of
// other calls, and registers its cleanup with t.Cleanup.
type Factory func(t *testing.T) ratelimit.Keyed

// Run checks the contract of ratelimit.Keyed against limiters from newKeyed.
// The checks run in real time but use limits whose refill interval
// (60 s / Rate) is far longer than a test, so no assertion depends on
// timing. Peek checks run when the limiter implements ratelimit.Peeker.
func Run(t *testing.T, newKeyed Factory) {
	t.Helper()
	tests := map[string]func(*testing.T, ratelimit.Keyed){
		"BurstThenRefuse":          testBurstThenRefuse,
		"RefusalReportsRetryAfter": testRefusal,
		"FirstDecisionReset":       testFirstDecisionReset,
		"BurstSmallerThanRate":     testSmallBurst,
		"KeysAreIndependent":       testIndependentKeys,
		"InvalidLimit":             testInvalidLimit,
		"ConcurrentExactCount":     testConcurrent,
		"PeekCountsNothing":        testPeek,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, newKeyed(t))
		})
	}
}

func allow(t *testing.T, k ratelimit.Keyed, key string, l ratelimit.Limit) ratelimit.Decision {
	t.Helper()
	d, err := k.Allow(context.Background(), key, l)
	require.NoError(t, err)
	return d
}

// slow is 5 per minute: one event refills every 12 s.
var slow = ratelimit.Limit{Rate: 5}

func testBurstThenRefuse(t *testing.T, k ratelimit.Keyed) {
	for i := range 5 {
		d := allow(t, k, "burst", slow)
		require.True(t, d.Allowed, "event %d", i+1)
		assert.Equal(t, 5, d.Limit)
		assert.Equal(t, 4-i, d.Remaining, "event %d", i+1)
		assert.Zero(t, d.RetryAfter)
	}
	d := allow(t, k, "burst", slow)
	assert.False(t, d.Allowed)
	assert.Equal(t, 0, d.Remaining)
	assert.Equal(t, 5, d.Limit)
}

func testRefusal(t *testing.T, k ratelimit.Keyed) {
	l := ratelimit.Limit{Rate: 1} // one per minute
	require.True(t, allow(t, k, "refusal", l).Allowed)
	d := allow(t, k, "refusal", l)
	require.False(t, d.Allowed)
	assert.Greater(t, d.RetryAfter, time.Duration(0))
	assert.LessOrEqual(t, d.RetryAfter, time.Minute)
	assert.Greater(t, d.ResetAfter, time.Duration(0))
	assert.LessOrEqual(t, d.ResetAfter, time.Minute)
	// Nearly a full interval is left (a second of slack for a slow machine).
	assert.GreaterOrEqual(t, d.RetryAfterSeconds(), 59)
	assert.GreaterOrEqual(t, d.ResetSeconds(), 59)
}

func testFirstDecisionReset(t *testing.T, k ratelimit.Keyed) {
	d := allow(t, k, "reset", ratelimit.Limit{Rate: 10})
	require.True(t, d.Allowed)
	assert.Equal(t, 9, d.Remaining)
	// One event used: the budget is full again after one interval (6 s).
	assert.Greater(t, d.ResetAfter, 5*time.Second)
	assert.LessOrEqual(t, d.ResetAfter, 6*time.Second)
	assert.Equal(t, 6, d.ResetSeconds())
}

func testSmallBurst(t *testing.T, k ratelimit.Keyed) {
	l := ratelimit.Limit{Rate: 2, Burst: 3}
	for i := range 3 {
		require.True(t, allow(t, k, "small", l).Allowed, "event %d", i+1)
	}
	d := allow(t, k, "small", l)
	assert.False(t, d.Allowed)
	assert.Equal(t, 2, d.Limit)
}

func testIndependentKeys(t *testing.T, k ratelimit.Keyed) {
	l := ratelimit.Limit{Rate: 1}
	require.True(t, allow(t, k, "a", l).Allowed)
	require.False(t, allow(t, k, "a", l).Allowed)
	assert.True(t, allow(t, k, "b", l).Allowed)
}

func testInvalidLimit(t *testing.T, k ratelimit.Keyed) {
	for _, l := range []ratelimit.Limit{{}, {Rate: -1}, {Rate: 1, Burst: -1}} {
		_, err := k.Allow(context.Background(), "invalid", l)
		assert.ErrorIs(t, err, ratelimit.ErrInvalidLimit, "%+v", l)
	}
}

func testConcurrent(t *testing.T, k ratelimit.Keyed) {
	l := ratelimit.Limit{Rate: 1, Burst: 20}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 10 {
				d, err := k.Allow(context.Background(), "concurrent", l)
				if !assert.NoError(t, err, fmt.Sprintf("goroutine %d call %d", g, i)) {
					return
				}
				if d.Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(20), allowed.Load())
}

func testPeek(t *testing.T, k ratelimit.Keyed) {
	p, ok := k.(ratelimit.Peeker)
	if !ok {
		t.Log("the limiter does not implement ratelimit.Peeker: nothing to check")
		return
	}
	ctx := context.Background()
	d, err := p.Peek(ctx, "peek", slow)
	require.NoError(t, err)
	assert.True(t, d.Allowed)
	assert.Equal(t, 5, d.Remaining)
	assert.Equal(t, 0, d.ResetSeconds())
	allow(t, k, "peek", slow)
	for range 3 {
		d, err = p.Peek(ctx, "peek", slow)
		require.NoError(t, err)
		assert.Equal(t, 4, d.Remaining)
	}
	assert.Equal(t, 3, allow(t, k, "peek", slow).Remaining)
}

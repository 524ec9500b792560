package ratelimit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/ratelimit"
	"github.com/aragora/aragora/ratelimit/ratelimittest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMemoryConformance(t *testing.T) {
	ratelimittest.Run(t, func(t *testing.T) ratelimit.Keyed {
		return ratelimit.NewMemory(ratelimit.MemoryConfig{})
	})
}

func TestFallbackConformance(t *testing.T) {
	// A healthy primary: the Fallback must be transparent.
	ratelimittest.Run(t, func(t *testing.T) ratelimit.Keyed {
		return ratelimit.NewFallback(ratelimit.NewMemory(ratelimit.MemoryConfig{}), nil, ratelimit.FallbackConfig{})
	})
}

// step is one event (or peek) at an offset from the start of a table test.
type step struct {
	at            time.Duration
	peek          bool
	wantAllowed   bool
	wantRemaining int
	wantReset     int // X-RateLimit-Reset
	wantRetry     int // Retry-After, only checked when refused
}

func TestMemoryGCRA(t *testing.T) {
	t.Parallel()
	ten := ratelimit.Limit{Rate: 10} // one event per 6 s, burst 10
	burst := func(n int, at time.Duration) []step {
		var s []step
		for i := range n {
			s = append(s, step{at: at, wantAllowed: true, wantRemaining: 9 - i, wantReset: 6 * (i + 1)})
		}
		return s
	}
	tests := []struct {
		name  string
		limit ratelimit.Limit
		steps []step
	}{
		{
			name:  "burst of L then refusal with a full interval to wait",
			limit: ten,
			steps: append(burst(10, 0),
				step{at: 0, wantAllowed: false, wantRemaining: 0, wantReset: 60, wantRetry: 6}),
		},
		{
			name:  "one event refills per interval",
			limit: ten,
			steps: append(burst(10, 0),
				step{at: 5 * time.Second, wantAllowed: false, wantRemaining: 0, wantReset: 55, wantRetry: 1},
				step{at: 6 * time.Second, wantAllowed: true, wantRemaining: 0, wantReset: 60},
				step{at: 6 * time.Second, wantAllowed: false, wantRemaining: 0, wantReset: 60, wantRetry: 6},
				step{at: 18 * time.Second, wantAllowed: true, wantRemaining: 1, wantReset: 54},
			),
		},
		{
			name:  "reset counts down to a full budget",
			limit: ten,
			steps: []step{
				{at: 0, wantAllowed: true, wantRemaining: 9, wantReset: 6},
				{at: 0, wantAllowed: true, wantRemaining: 8, wantReset: 12},
				{at: 11 * time.Second, peek: true, wantAllowed: true, wantRemaining: 9, wantReset: 1},
				{at: 12 * time.Second, peek: true, wantAllowed: true, wantRemaining: 10, wantReset: 0},
				{at: time.Hour, wantAllowed: true, wantRemaining: 9, wantReset: 6},
			},
		},
		{
			name:  "general 120 per minute: reset 1 s after two requests",
			limit: ratelimit.Limit{Rate: 120},
			steps: []step{
				{at: 0, wantAllowed: true, wantRemaining: 119, wantReset: 1},
				{at: 0, wantAllowed: true, wantRemaining: 118, wantReset: 1},
				{at: 0, peek: true, wantAllowed: true, wantRemaining: 118, wantReset: 1},
			},
		},
		{
			name:  "emergency: 10 per minute becomes 1",
			limit: ratelimit.Limit{Rate: ratelimit.Config{Emergency: true}.EffectiveRPM(ratelimit.ClassDebateCreate)},
			steps: []step{
				{at: 0, wantAllowed: true, wantRemaining: 0, wantReset: 60},
				{at: 0, wantAllowed: false, wantRemaining: 0, wantReset: 60, wantRetry: 60},
				{at: 30 * time.Second, wantAllowed: false, wantRemaining: 0, wantReset: 30, wantRetry: 30},
				{at: 60 * time.Second, wantAllowed: true, wantRemaining: 0, wantReset: 60},
			},
		},
		{
			name:  "emergency: 120 per minute becomes 12",
			limit: ratelimit.Limit{Rate: ratelimit.Config{Emergency: true}.EffectiveRPM(ratelimit.ClassGeneral)},
			steps: []step{
				{at: 0, wantAllowed: true, wantRemaining: 11, wantReset: 5},
			},
		},
		{
			name:  "burst below rate",
			limit: ratelimit.Limit{Rate: 60, Burst: 2},
			steps: []step{
				{at: 0, wantAllowed: true, wantRemaining: 1, wantReset: 1},
				{at: 0, wantAllowed: true, wantRemaining: 0, wantReset: 2},
				{at: 0, wantAllowed: false, wantRemaining: 0, wantReset: 2, wantRetry: 1},
				{at: 2 * time.Second, wantAllowed: true, wantRemaining: 1, wantReset: 1},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newClock()
			start := clock.Now()
			m := ratelimit.NewMemory(ratelimit.MemoryConfig{Now: clock.Now})
			for i, s := range tt.steps {
				clock.Advance(start.Add(s.at).Sub(clock.Now()))
				var d ratelimit.Decision
				var err error
				if s.peek {
					d, err = m.Peek(context.Background(), "k", tt.limit)
				} else {
					d, err = m.Allow(context.Background(), "k", tt.limit)
				}
				require.NoError(t, err)
				msg := fmt.Sprintf("step %d at %s", i, s.at)
				assert.Equal(t, s.wantAllowed, d.Allowed, msg)
				assert.Equal(t, tt.limit.Rate, d.Limit, msg)
				assert.Equal(t, s.wantRemaining, d.Remaining, msg)
				assert.Equal(t, s.wantReset, d.ResetSeconds(), msg)
				if !s.wantAllowed {
					assert.Equal(t, s.wantRetry, d.RetryAfterSeconds(), msg)
				} else {
					assert.Zero(t, d.RetryAfter, msg)
				}
			}
		})
	}
}

func TestMemoryLimitChangeKeepsState(t *testing.T) {
	t.Parallel()
	clock := newClock()
	m := ratelimit.NewMemory(ratelimit.MemoryConfig{Now: clock.Now})
	ctx := context.Background()
	for range 5 {
		_, err := m.Allow(ctx, "k", ratelimit.Limit{Rate: 10})
		require.NoError(t, err)
	}
	d, err := m.Allow(ctx, "k", ratelimit.Limit{Rate: 6})
	require.NoError(t, err)
	assert.True(t, d.Allowed)
	assert.Equal(t, 4, d.Remaining, "the 5 unused tokens are kept, not refilled to the new burst")
}

func TestMemoryBoundedKeys(t *testing.T) {
	t.Parallel()
	const keys = 1_000_000
	tests := []struct {
		name    string
		step    time.Duration // clock advance per key
		maxKeys int
		wantMax int
	}{
		// A flood within one refill interval: only MaxKeys bounds memory.
		{name: "flood within an interval is capped", step: 0, maxKeys: 10_000, wantMax: 10_000},
		// Keys idle again (full budget) are swept: far fewer than the cap remain.
		{name: "idle keys are swept", step: time.Millisecond, maxKeys: 1_000_000, wantMax: 2000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newClock()
			m := ratelimit.NewMemory(ratelimit.MemoryConfig{Now: clock.Now, MaxKeys: tt.maxKeys, SweepEvery: time.Second})
			l := ratelimit.Limit{Rate: 120} // a key is idle 0.5 s after one event
			peak := 0
			for i := range keys {
				clock.Advance(tt.step)
				d, err := m.Allow(context.Background(), fmt.Sprintf("ip:%d", i), l)
				require.NoError(t, err)
				require.True(t, d.Allowed)
				if i%50_000 == 0 {
					peak = max(peak, m.Len())
				}
			}
			peak = max(peak, m.Len())
			assert.LessOrEqual(t, peak, tt.wantMax)
			clock.Advance(time.Second)
			assert.Equal(t, m.Len(), m.Prune(), "every key is idle a second later")
			assert.Equal(t, 0, m.Len())
		})
	}
}

func TestMemoryReset(t *testing.T) {
	t.Parallel()
	m := ratelimit.NewMemory(ratelimit.MemoryConfig{Now: newClock().Now})
	l := ratelimit.Limit{Rate: 1}
	ctx := context.Background()
	d, _ := m.Allow(ctx, "k", l)
	require.True(t, d.Allowed)
	d, _ = m.Allow(ctx, "k", l)
	require.False(t, d.Allowed)
	m.Reset("k")
	d, _ = m.Allow(ctx, "k", l)
	assert.True(t, d.Allowed)
}

func TestErrLimitedKind(t *testing.T) {
	t.Parallel()
	assert.Equal(t, agent.KindRateLimited, agent.KindOf(fmt.Errorf("wrapped: %w", ratelimit.ErrLimited)))
}

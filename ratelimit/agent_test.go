package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/ratelimit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
)

var echo = agent.Func(func(context.Context, agent.Request) (agent.Response, error) {
	return agent.Response{Text: "ok"}, nil
})

func TestAgentMiddleware(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		limiter  *rate.Limiter
		ctx      func() (context.Context, context.CancelFunc)
		wantErr  error
		wantKind agent.Kind
	}{
		{name: "token available", limiter: rate.NewLimiter(rate.Every(time.Hour), 1),
			ctx: func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }},
		{name: "wait would pass the deadline", limiter: exhausted(rate.NewLimiter(rate.Every(time.Hour), 1)),
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), time.Minute)
			},
			wantErr: ratelimit.ErrLimited, wantKind: agent.KindRateLimited},
		{name: "cancelled context", limiter: exhausted(rate.NewLimiter(rate.Every(time.Hour), 1)),
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx, cancel
			},
			wantErr: context.Canceled, wantKind: agent.KindCancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := tt.ctx()
			defer cancel()
			a := agent.Chain(echo, ratelimit.Middleware(tt.limiter))
			resp, err := a.Respond(ctx, agent.Request{})
			require.ErrorIs(t, err, tt.wantErr)
			assert.Equal(t, tt.wantKind, agent.KindOf(err))
			if tt.wantErr == nil {
				assert.Equal(t, "ok", resp.Text)
			}
		})
	}
}

func exhausted(l *rate.Limiter) *rate.Limiter {
	l.Allow()
	return l
}

// scriptedKeyed refuses the first n calls with a tiny RetryAfter.
type scriptedKeyed struct {
	refusals int
	retry    time.Duration
	keys     []string
}

func (s *scriptedKeyed) Allow(_ context.Context, key string, l ratelimit.Limit) (ratelimit.Decision, error) {
	s.keys = append(s.keys, key)
	if s.refusals > 0 {
		s.refusals--
		return ratelimit.Decision{Limit: l.Rate, RetryAfter: s.retry}, nil
	}
	return ratelimit.Decision{Allowed: true, Limit: l.Rate}, nil
}

func TestPerKey(t *testing.T) {
	t.Parallel()
	byParticipant := func(req agent.Request) string { return req.Participant }
	l := ratelimit.Limit{Rate: 60}

	t.Run("waits then calls", func(t *testing.T) {
		t.Parallel()
		k := &scriptedKeyed{refusals: 2, retry: time.Microsecond}
		a := agent.Chain(echo, ratelimit.PerKey(k, l, byParticipant))
		resp, err := a.Respond(context.Background(), agent.Request{Participant: "provider:anthropic"})
		require.NoError(t, err)
		assert.Equal(t, "ok", resp.Text)
		assert.Equal(t, []string{"provider:anthropic", "provider:anthropic", "provider:anthropic"}, k.keys)
	})
	t.Run("refuses at once when the slot is after the deadline", func(t *testing.T) {
		t.Parallel()
		k := &scriptedKeyed{refusals: 1, retry: time.Hour}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := agent.Chain(echo, ratelimit.PerKey(k, l, byParticipant)).Respond(ctx, agent.Request{Participant: "p"})
		require.ErrorIs(t, err, ratelimit.ErrLimited)
		assert.Equal(t, agent.KindRateLimited, agent.KindOf(err))
		assert.Len(t, k.keys, 1)
	})
	t.Run("empty key is unlimited", func(t *testing.T) {
		t.Parallel()
		k := &scriptedKeyed{refusals: 100, retry: time.Hour}
		_, err := agent.Chain(echo, ratelimit.PerKey(k, l, byParticipant)).Respond(context.Background(), agent.Request{})
		require.NoError(t, err)
		assert.Empty(t, k.keys)
	})
	t.Run("shared memory budget per provider", func(t *testing.T) {
		t.Parallel()
		m := ratelimit.NewMemory(ratelimit.MemoryConfig{Now: newClock().Now}) // frozen clock: no refill
		mw := ratelimit.PerKey(m, ratelimit.Limit{Rate: 1, Burst: 2}, func(agent.Request) string { return "provider:openai" })
		a, b := agent.Chain(echo, mw), agent.Chain(echo, mw)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := a.Respond(ctx, agent.Request{})
		require.NoError(t, err)
		_, err = b.Respond(ctx, agent.Request{})
		require.NoError(t, err)
		_, err = a.Respond(ctx, agent.Request{})
		require.ErrorIs(t, err, ratelimit.ErrLimited, "the third call waits 60 s, past the deadline")
	})
}

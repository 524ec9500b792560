package agent_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
)

func TestReportHelpers(t *testing.T) {
	t.Parallel()
	cause := errors.New("upstream said no")
	tests := []struct {
		name       string
		err        error
		kind       agent.Kind
		retryable  bool
		retryAfter time.Duration
		sentinel   error
	}{
		{"rate limited", agent.RateLimited(20 * time.Second), agent.KindRateLimited, true, 20 * time.Second, agent.ErrRateLimited},
		{"rate limited without hint", agent.RateLimited(0), agent.KindRateLimited, true, 0, agent.ErrRateLimited},
		{"quota exhausted", agent.QuotaExhausted(cause), agent.KindQuotaExhausted, false, 0, agent.ErrQuotaExhausted},
		{"transient", agent.Transient(cause), agent.KindServer, true, 0, cause},
		{"auth", agent.AuthFailed(cause), agent.KindAuth, false, 0, agent.ErrAuth},
		{"invalid response", agent.InvalidResponse(nil), agent.KindInvalidResponse, false, 0, agent.ErrInvalidResponse},
		{"wrapped", errFmt(agent.RateLimited(time.Second)), agent.KindRateLimited, true, time.Second, agent.ErrRateLimited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.kind, agent.KindOf(tt.err))
			assert.Equal(t, tt.retryable, agent.Retryable(tt.err))
			assert.Equal(t, tt.retryAfter, agent.RetryAfter(tt.err))
			assert.ErrorIs(t, tt.err, tt.sentinel)
		})
	}
	assert.ErrorIs(t, agent.QuotaExhausted(cause), cause, "the cause stays in the chain")
	assert.Equal(t, "agent: rate limited (retry after 20s)", agent.RateLimited(20*time.Second).Error())
	assert.Equal(t, "agent: quota exhausted: upstream said no", agent.QuotaExhausted(cause).Error())
}

func errFmt(err error) error { return errors.Join(errors.New("custom agent"), err) }

// A custom agent's RateLimited error is retried after its hint, as a
// provider 429 with Retry-After is.
func TestRetryHonoursRateLimitedHint(t *testing.T) {
	t.Parallel()
	calls := 0
	a := agent.Func(func(context.Context, agent.Request) (agent.Response, error) {
		calls++
		if calls == 1 {
			return agent.Response{}, agent.RateLimited(7 * time.Second)
		}
		return agent.Response{Text: "ok"}, nil
	})
	var waited time.Duration
	resp, err := agent.Retry(agent.RetryConfig{
		Rand:  func() float64 { return 0 },
		Sleep: func(_ context.Context, d time.Duration) error { waited = d; return nil },
	})(a).Respond(context.Background(), agent.Request{})
	require.NoError(t, err)
	assert.Equal(t, "ok", resp.Text)
	assert.Equal(t, 7*time.Second, waited)
	assert.Equal(t, 2, resp.Attempts)
}

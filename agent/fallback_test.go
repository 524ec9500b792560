package agent_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
)

func TestFallback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		err      error
		fallback bool
	}{
		{"quota", errQuota, true},
		{"402", err402, true},
		{"circuit open", errOpen, true},
		{"auth 401", err401, true},
		{"auth 403", err403, true},
		{"after retries", &agent.AttemptsError{Attempts: 1, Err: errQuota}, true},
		{"server", err503, false},
		{"rate limited", err429, false},
		{"bad request", err400, false},
		{"invalid response", errInvalid, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			primary := &script{errs: []error{tt.err}}
			backup := &script{model: "anthropic/claude-sonnet-4.5"}
			a := agent.Chain(primary, agent.FallbackMiddleware(agent.FallbackConfig{
				Agent: backup, FromProvider: "anthropic", FromModel: "claude-sonnet-4-5",
			}))
			resp, err := a.Respond(t.Context(), agent.Request{Prompt: "q"})
			if !tt.fallback {
				require.ErrorIs(t, err, tt.err)
				assert.Equal(t, 0, backup.count())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, 1, backup.count())
			assert.Equal(t, "reply 1", resp.Text)
			require.NotNil(t, resp.Fallback)
			assert.Equal(t, "anthropic", resp.Fallback.FromProvider)
			assert.Equal(t, "claude-sonnet-4-5", resp.Fallback.FromModel)
			assert.Equal(t, "openrouter", resp.Fallback.ToProvider)
			assert.Equal(t, "anthropic/claude-sonnet-4.5", resp.Fallback.ToModel)
			assert.Equal(t, agent.KindOf(tt.err), resp.Fallback.Reason)
			assert.ErrorIs(t, resp.Fallback.Err, tt.err)
			assert.Equal(t, 2, resp.Attempts)
		})
	}
}

func TestFallbackDefaultsAndFailure(t *testing.T) {
	t.Parallel()
	t.Run("provider from error", func(t *testing.T) {
		t.Parallel()
		a := agent.Chain(&script{errs: []error{errQuota}}, agent.FallbackMiddleware(agent.FallbackConfig{
			Agent: &script{model: "m"}, ToProvider: "elsewhere", ToModel: "x/y",
		}))
		resp, err := a.Respond(t.Context(), agent.Request{})
		require.NoError(t, err)
		require.NotNil(t, resp.Fallback)
		assert.Equal(t, "p", resp.Fallback.FromProvider)
		assert.Equal(t, "elsewhere", resp.Fallback.ToProvider)
		assert.Equal(t, "x/y", resp.Fallback.ToModel)
	})
	t.Run("fallback fails too", func(t *testing.T) {
		t.Parallel()
		a := agent.Chain(&script{errs: []error{errQuota}}, agent.FallbackMiddleware(agent.FallbackConfig{
			Agent: &script{errs: []error{err503}},
		}))
		_, err := a.Respond(t.Context(), agent.Request{})
		require.ErrorIs(t, err, errQuota)
		require.ErrorIs(t, err, err503)
		assert.Equal(t, agent.KindQuotaExhausted, agent.KindOf(err), "the primary's kind")
	})
	t.Run("custom kinds", func(t *testing.T) {
		t.Parallel()
		a := agent.Chain(&script{errs: []error{err503}}, agent.FallbackMiddleware(agent.FallbackConfig{
			Agent: &script{}, Kinds: []agent.Kind{agent.KindServer},
		}))
		resp, err := a.Respond(t.Context(), agent.Request{})
		require.NoError(t, err)
		require.NotNil(t, resp.Fallback)
		assert.Equal(t, agent.KindServer, resp.Fallback.Reason)
	})
	t.Run("nil agent is a no-op", func(t *testing.T) {
		t.Parallel()
		s := &script{}
		assert.Same(t, s, agent.FallbackMiddleware(agent.FallbackConfig{})(s))
	})
	assert.Equal(t, []agent.Kind{agent.KindQuotaExhausted, agent.KindCircuitOpen, agent.KindAuth}, agent.FallbackKinds())
}

func TestFallbackStream(t *testing.T) {
	t.Parallel()
	t.Run("before the first chunk", func(t *testing.T) {
		t.Parallel()
		primary := streamScript{&script{errs: []error{errQuota}}}
		backup := streamScript{&script{model: "m"}}
		st, ok := agent.Chain(primary, agent.FallbackMiddleware(agent.FallbackConfig{Agent: backup})).(agent.Streamer)
		require.True(t, ok, "FallbackMiddleware preserves Streamer")
		var chunks []string
		resp, err := st.RespondStream(t.Context(), agent.Request{}, func(c string) { chunks = append(chunks, c) })
		require.NoError(t, err)
		require.NotNil(t, resp.Fallback)
		assert.Equal(t, []string{"reply 1"}, chunks, "the fallback streams through the same callback")
	})
	t.Run("never after a chunk", func(t *testing.T) {
		t.Parallel()
		primary := streamScript{&script{errs: []error{errQuota}, chunkFirst: true}}
		backup := &script{}
		st := agent.Chain(primary, agent.FallbackMiddleware(agent.FallbackConfig{Agent: backup})).(agent.Streamer)
		_, err := st.RespondStream(t.Context(), agent.Request{}, func(string) {})
		require.ErrorIs(t, err, errQuota)
		assert.Equal(t, 0, backup.count())
	})
}

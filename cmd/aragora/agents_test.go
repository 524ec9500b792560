package main

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
)

func TestResolveAgent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec, wantName, wantModel string
		wantErr                   error
	}{
		{spec: "demo-analyst", wantName: "demo-analyst", wantModel: "demo-supportive"},
		{spec: " demo-critic ", wantName: "demo-critic", wantModel: "demo-critical"},
		{spec: "demo-judge", wantName: "demo-judge", wantModel: "demo-balanced"},
		{spec: "demo-x:hollow", wantName: "demo-x", wantModel: "demo-hollow"},
		{spec: "demo-x:loud", wantErr: errUnknownAgent},
		{spec: "demo-", wantErr: errUnknownAgent},
		{spec: "nonsense", wantErr: errUnknownAgent},
		{spec: "claude", wantErr: errAgentUnavailable},
		{spec: "openrouter:some/model", wantErr: errAgentUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			t.Parallel()
			name, a, model, err := resolveAgent(tt.spec, 1, func(string) string { return "" })
			require.ErrorIs(t, err, tt.wantErr)
			if tt.wantErr != nil {
				return
			}
			assert.Equal(t, tt.wantName, name)
			assert.Equal(t, tt.wantModel, model)
			_, streams := a.(agent.Streamer)
			assert.True(t, streams, "demo agents stream")
		})
	}
}

func TestResolveProviderAgentFromEnv(t *testing.T) {
	t.Parallel()
	getenv := func(k string) string {
		if k == "ANTHROPIC_API_KEY" {
			return "sk-test"
		}
		return ""
	}
	name, a, model, err := resolveAgent("claude", 1, getenv)
	require.NoError(t, err)
	assert.Equal(t, "claude", name)
	assert.Equal(t, "claude-sonnet-4-5", model)
	assert.NotNil(t, a)
	_, _, _, err = resolveAgent("gpt-4", 1, getenv)
	require.ErrorIs(t, err, errAgentUnavailable)
	assert.Contains(t, err.Error(), "OPENAI_API_KEY", "the error names the variable to set")
}

func TestWithDelayKeepsStreamingAndHonoursContext(t *testing.T) {
	t.Parallel()
	_, a, _, err := resolveAgent("demo-analyst", 3, func(k string) string {
		if k == demoDelayEnv {
			return "1"
		}
		return ""
	})
	require.NoError(t, err)
	s, ok := a.(agent.Streamer)
	require.True(t, ok, "the delay wrapper keeps agent.Streamer")

	req := agent.Request{Phase: agent.PhasePropose, Round: 1, Participant: "demo-analyst", Question: "Q?"}
	var chunks strings.Builder
	resp, err := s.RespondStream(context.Background(), req, func(c string) { chunks.WriteString(c) })
	require.NoError(t, err)
	assert.Equal(t, resp.Text, chunks.String())

	plain, err := a.Respond(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, resp.Text, plain.Text)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = withDelay(a, 1<<40).Respond(ctx, req)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestSplitAgentSpecs(t *testing.T) {
	t.Parallel()
	assert.Equal(t, []string{"a", "b:c"}, splitAgentSpecs(" a ,, b:c ,"))
	assert.Nil(t, splitAgentSpecs(" , "))
}

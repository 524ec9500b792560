package service

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/registry"
	"github.com/aragora/aragora/lifecycle"
)

// resolveAgent resolves one spec with agents configured from getenv, as
// `aragora debate` does.
func resolveAgent(spec string, seed int64, getenv func(string) string) (name string, a agent.Agent, model string, err error) {
	regCfg, err := registry.FromEnv(getenv)
	if err != nil {
		return "", nil, "", err
	}
	delay, err := DemoDelayFromEnv(getenv)
	if err != nil {
		return "", nil, "", err
	}
	agents, err := NewAgents(Config{Agents: regCfg, DemoDelay: delay})
	if err != nil {
		return "", nil, "", err
	}
	ra, err := agents.Resolve(spec, seed)
	return ra.Name, ra.Agent, ra.Model, err
}

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
		{spec: "demo-x:loud", wantErr: lifecycle.ErrUnknownAgent},
		{spec: "demo-", wantErr: lifecycle.ErrUnknownAgent},
		{spec: "nonsense", wantErr: lifecycle.ErrUnknownAgent},
		{spec: "claude", wantErr: lifecycle.ErrAgentUnavailable},
		{spec: "openrouter:some/model", wantErr: lifecycle.ErrAgentUnavailable},
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
	require.ErrorIs(t, err, lifecycle.ErrAgentUnavailable)
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

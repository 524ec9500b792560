package service

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	_, err = withDelay(a, 1<<40, "").Respond(ctx, req)
	assert.ErrorIs(t, err, context.Canceled)
}

// TestDemoGate: with ARAGORA_DEMO_GATE a demo agent answers the first
// round at once and waits for the gate file from the second round on.
func TestDemoGate(t *testing.T) {
	t.Parallel()
	gate := filepath.Join(t.TempDir(), "open")
	cfg, err := ConfigFromEnv(func(k string) string {
		if k == demoGateEnv {
			return gate
		}
		return ""
	})
	require.NoError(t, err)
	require.Equal(t, gate, cfg.DemoGate)
	agents, err := NewAgents(Config{DemoGate: cfg.DemoGate})
	require.NoError(t, err)
	a, err := agents.Resolve("demo-critic", 1)
	require.NoError(t, err)

	req := agent.Request{Phase: agent.PhasePropose, Round: 1, Participant: "demo-critic", Question: "Q?"}
	_, err = a.Agent.Respond(context.Background(), req)
	require.NoError(t, err, "round 1 does not wait")

	req.Round = 2
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = a.Agent.Respond(ctx, req)
	require.ErrorIs(t, err, context.DeadlineExceeded, "round 2 waits while the gate is closed")

	answered := make(chan error, 1)
	go func() {
		_, err := a.Agent.Respond(context.Background(), req)
		answered <- err
	}()
	require.NoError(t, os.WriteFile(gate, nil, 0o600))
	require.NoError(t, <-answered, "round 2 answers once the gate is open")
}

// TestAgentSettingsFromEnv: the variables that `aragora debate` and
// `aragora nomic run` read without the service follow ConfigFromEnv's
// rules, and unset they give the library defaults (0).
func TestAgentSettingsFromEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, value string
		read        func(func(string) string) (time.Duration, error)
		want        time.Duration
		wantErr     string
	}{
		{name: demoDelayEnv, value: " 150 ", read: DemoDelayFromEnv, want: 150 * time.Millisecond},
		{name: demoDelayEnv, value: "0", read: DemoDelayFromEnv},
		{name: demoDelayEnv, read: DemoDelayFromEnv},
		{name: demoDelayEnv, value: "-1", read: DemoDelayFromEnv, wantErr: `config: ARAGORA_DEMO_DELAY_MS="-1": want an integer >= 0`},
		{name: agentTimeoutEnv, value: "5", read: AgentTimeoutFromEnv, want: 5 * time.Second},
		{name: agentTimeoutEnv, read: AgentTimeoutFromEnv},
		{name: agentTimeoutEnv, value: "0", read: AgentTimeoutFromEnv, wantErr: `config: ARAGORA_AGENT_TIMEOUT_SECONDS="0": want an integer >= 1`},
		{name: agentTimeoutEnv, value: "1.5", read: AgentTimeoutFromEnv, wantErr: `config: ARAGORA_AGENT_TIMEOUT_SECONDS="1.5": want an integer >= 1`},
	}
	for _, tt := range tests {
		d, err := tt.read(func(k string) string { return map[string]string{tt.name: tt.value}[k] })
		if tt.wantErr != "" {
			assert.EqualError(t, err, tt.wantErr)
			continue
		}
		require.NoError(t, err, "%s=%q", tt.name, tt.value)
		assert.Equal(t, tt.want, d, "%s=%q", tt.name, tt.value)
	}
}

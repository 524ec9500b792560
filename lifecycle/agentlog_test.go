package lifecycle_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/demo"
	"github.com/aragora/aragora/lifecycle"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/memstore"
)

// flakyAgents resolves demo specs, plus "down" (provider "acme", always
// failing with a 503) and "rescued" (provider "acme", failing with a 503
// and answered by a demo agent standing for its fallback).
type flakyAgents struct{}

func (flakyAgents) Resolve(spec string, seed int64) (lifecycle.Agent, error) {
	fail := agent.Func(func(context.Context, agent.Request) (agent.Response, error) {
		return agent.Response{}, &agent.ProviderError{Provider: "acme", StatusCode: 503, Err: errors.New("upstream exploded")}
	})
	switch spec {
	case "down":
		return lifecycle.Agent{Name: "down", Provider: "acme", Model: "acme-1", Agent: fail}, nil
	case "rescued":
		fb := agent.FallbackMiddleware(agent.FallbackConfig{Agent: demo.New("rescued", demo.StyleBalanced, seed),
			FromProvider: "acme", FromModel: "acme-1", ToProvider: "backup", ToModel: "backup-1",
			Kinds: []agent.Kind{agent.KindServer}})
		return lifecycle.Agent{Name: "rescued", Provider: "acme", Model: "acme-1", Agent: fb(fail)}, nil
	}
	return agents{}.Resolve(spec, seed)
}

// TestAgentAndRoundLogs runs a debate with a failing agent and a rescued
// one and checks the records of docs/operations.md#logs: agent_call for
// every call, agent_error with its kind and agent_fallback for the rescue
// on the provider's logger, round_start and round_end on the debate
// logger, all with the debate id and correlation id.
func TestAgentAndRoundLogs(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	// One handler per buffer: the loggers derived from it share its lock,
	// and the buffers are read once the manager has stopped.
	var agentLog, debateLog bytes.Buffer
	opts := &slog.HandlerOptions{Level: slog.LevelDebug}
	agentH := slog.NewTextHandler(&agentLog, opts)
	var mu sync.Mutex
	providers := map[string]bool{}
	m := newManager(t, st, flakyAgents{}, lifecycle.Config{
		Logger: slog.New(slog.NewTextHandler(&debateLog, opts)),
		AgentLogger: func(provider string) *slog.Logger {
			mu.Lock()
			providers[provider] = true
			mu.Unlock()
			return slog.New(agentH).With("logger", "aragora.agent."+provider)
		},
	})
	d, err := m.Create(context.Background(), spec(t, `{"topic":"Adopt Postgres?","agents":["demo-a","demo-b","rescued","down"],"rounds":2,"min_rounds":2,"seed":3}`), "usr_1", "corr-logs-1")
	require.NoError(t, err)
	waitStatus(t, st, d.ID, store.Terminal)
	require.NoError(t, m.Shutdown(context.Background()))

	mu.Lock()
	assert.Equal(t, map[string]bool{"demo": true, "acme": true}, providers)
	mu.Unlock()
	count := func(lines []string, parts ...string) int {
		n := 0
		for _, l := range lines {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(l+" ", p)
			}
			if all {
				n++
			}
		}
		return n
	}
	ids := []string{"debate_id=" + d.ID, "correlation_id=corr-logs-1"}
	lines := func(b *bytes.Buffer) []string { return strings.Split(strings.TrimSpace(b.String()), "\n") }
	al := lines(&agentLog)
	for _, l := range al {
		for _, id := range ids {
			assert.Contains(t, l, id)
		}
	}
	calls := count(al, "msg=agent_call")
	assert.Positive(t, calls)
	assert.Equal(t, calls, count(al, "msg=agent_call", "duration_ms=", "tokens_in=", "tokens_out=", "cost_usd=", "phase=", "outcome="))
	assert.Positive(t, count(al, "msg=agent_call", "agent=demo-a", "provider=demo", "outcome=ok"))
	downErrs := count(al, "msg=agent_error", "agent=down", "provider=acme", "model=acme-1", "error_kind=server", "status_code=503")
	assert.Positive(t, downErrs)
	assert.Equal(t, downErrs, count(al, "msg=agent_call", "agent=down", "outcome=error"), "one agent_error per failed call")
	rescues := count(al, "msg=agent_fallback", "agent=rescued", "error_kind=server", "from_provider=acme", "from_model=acme-1",
		"to_provider=backup", "to_model=backup-1")
	assert.Positive(t, rescues)
	assert.Equal(t, rescues, count(al, "msg=agent_error", "agent=rescued", "error_kind=server", "recoverable=true"))
	assert.Equal(t, rescues, count(al, "msg=agent_call", "agent=rescued", "outcome=fallback"))
	assert.Zero(t, count(al, "msg=agent_fallback", "agent=down"))

	dl := lines(&debateLog)
	for round := 1; round <= 2; round++ {
		r := " round=" + string(rune('0'+round)) + " "
		assert.Equal(t, 1, count(dl, append(ids, "msg=round_start", r)...), "round %d start", round)
		assert.Equal(t, 1, count(dl, append(ids, "msg=round_end", r, "duration_ms=", "tokens_in=", "cost_usd=")...), "round %d end", round)
	}
}

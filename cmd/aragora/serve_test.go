package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/registry"
	"github.com/aragora/aragora/metrics"
	"github.com/aragora/aragora/server"
)

// runWith runs the CLI with vars as its whole environment.
func runWith(t *testing.T, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb, func(k string) string { return vars[k] })
	return code, out.String(), errb.String()
}

func TestServeConfigErrorsExit2(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		vars map[string]string
		want string
	}{
		{name: "redis rate limit without URL", vars: map[string]string{"ARAGORA_ENABLE_REDIS_RATE_LIMIT": "1"}, want: "ARAGORA_ENABLE_REDIS_RATE_LIMIT"},
		{name: "bad redis URL", vars: map[string]string{"ARAGORA_REDIS_URL": "http://localhost:6379"}, want: "ARAGORA_REDIS_URL"},
		{name: "bad pool size", vars: map[string]string{"ARAGORA_DB_POOL_SIZE": "abc"}, want: "ARAGORA_DB_POOL_SIZE"},
		{name: "bad auto migrate", vars: map[string]string{"ARAGORA_AUTO_MIGRATE": "maybe"}, want: "ARAGORA_AUTO_MIGRATE"},
		{name: "bad breaker threshold", vars: map[string]string{"ARAGORA_CB_FAILURE_THRESHOLD": "abc"}, want: "ARAGORA_CB_FAILURE_THRESHOLD"},
		{name: "bad rate limit", vars: map[string]string{"ARAGORA_RATE_LIMIT_RPM": "-1"}, want: "ARAGORA_RATE_LIMIT_RPM"},
		{name: "bad demo delay", vars: map[string]string{demoDelayEnv: "soon"}, want: demoDelayEnv},
		{name: "production without secret", vars: map[string]string{"ARAGORA_ENV": "production", "ARAGORA_DATABASE_URL": "postgres://x/y"}, want: "ARAGORA_JWT_SECRET"},
		{name: "staging on implicit sqlite", vars: map[string]string{"ARAGORA_ENV": "staging", "ARAGORA_JWT_SECRET": strings.Repeat("s", 32)}, want: "ARAGORA_DATABASE_URL"},
		{name: "unsupported store scheme", vars: map[string]string{"ARAGORA_DATABASE_URL": "mysql://x/y"}, want: "ARAGORA_DATABASE_URL"},
		{name: "supabase without password", vars: map[string]string{"SUPABASE_URL": "https://abc.supabase.co"}, want: "SUPABASE_DB_PASSWORD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.vars["ARAGORA_DATA_DIR"] = t.TempDir()
			// Port 1 cannot be bound by a test: a config that passed would
			// fail with exit 1, never 0.
			code, _, stderr := runWith(t, tt.vars, "serve", "--host", "127.0.0.1", "--api-port", "1", "--ws-port", "0")
			assert.Equal(t, exitUsage, code, stderr)
			assert.Contains(t, stderr, tt.want)
		})
	}
}

func TestSQLiteDefaultCreatesFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c, err := loadServeConfig(func(k string) string { return map[string]string{"ARAGORA_DATA_DIR": dir}[k] })
	require.NoError(t, err)
	be, err := openBackends(context.Background(), c)
	require.NoError(t, err)
	defer be.Close()
	assert.Equal(t, "sqlite", be.Kind)
	for _, f := range []string{"aragora.db", "agent_elo.db", "continuum.db"} {
		assert.FileExists(t, dir+"/"+f)
	}
	ms, err := be.migrator.pending(context.Background())
	require.NoError(t, err)
	assert.Empty(t, ms)
}

func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"ARAGORA_DATA_DIR": t.TempDir()}
	code, out, stderr := runWith(t, vars, "migrate", "--dry-run")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, out, "pending store 0001")
	code, out, stderr = runWith(t, vars, "migrate")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, out, "applied store 0001")
	code, out, stderr = runWith(t, vars, "migrate", "--dry-run")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, out, "schema is up to date")
}

func TestMapAgentErr(t *testing.T) {
	t.Parallel()
	other := errors.New("boom")
	tests := []struct {
		name string
		err  error
		want error
	}{
		{name: "unknown", err: &registry.UnknownError{Spec: "x", Reason: "no such agent"}, want: server.ErrUnknownAgent},
		{name: "unavailable", err: &registry.UnavailableError{Agent: "claude", Var: "ANTHROPIC_API_KEY"}, want: server.ErrAgentUnavailable},
		{name: "other", err: other, want: other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.ErrorIs(t, mapAgentErr(tt.err), tt.want)
		})
	}
}

func TestAgentsAdapterZeroConfig(t *testing.T) {
	t.Parallel()
	reg, err := registry.New(registry.Config{})
	require.NoError(t, err)
	m := metrics.New(metrics.Config{})
	a := agentsAdapter{reg: reg, m: m}
	ra, err := a.Resolve("demo-ada:critical", 1)
	require.NoError(t, err)
	assert.Equal(t, "demo-ada", ra.Name)
	assert.Equal(t, "demo", ra.Provider)
	_, err = ra.Agent.Respond(context.Background(), agent.Request{Phase: agent.PhaseCritique, Question: "Q?"})
	require.NoError(t, err)
	assert.Equal(t, 1.0, testutil.ToFloat64(m.AgentRequests.WithLabelValues("demo-ada", "success")))
	_, err = a.Resolve("claude", 1)
	assert.ErrorIs(t, err, server.ErrAgentUnavailable)
	_, err = a.Resolve("nope!", 1)
	assert.ErrorIs(t, err, server.ErrUnknownAgent)
}

func TestCircuitStateChanges(t *testing.T) {
	t.Parallel()
	reg, err := registry.New(registry.Config{})
	require.NoError(t, err)
	m := metrics.New(metrics.Config{})
	var logs bytes.Buffer
	var srv atomic.Pointer[server.Server]
	watchCircuits(reg, m, slog.New(slog.NewTextHandler(&logs, nil)), &srv)

	fail := func(context.Context) error {
		return &agent.ProviderError{Provider: "anthropic", StatusCode: 503, Err: errors.New("overloaded")}
	}
	for range 5 {
		_ = reg.Breakers().Get("claude").Do(context.Background(), fail)
	}
	view := breakerView{reg: reg}
	require.Equal(t, "open", view.Circuits()["claude"].State)
	assert.Equal(t, 2.0, testutil.ToFloat64(m.CircuitState.WithLabelValues("claude")))
	assert.Contains(t, logs.String(), "level=WARN msg=circuit_breaker_state_change agent=claude from=closed to=open consecutive_failures=5")

	prev, ok := view.Reset("claude")
	assert.True(t, ok)
	assert.Equal(t, "open", prev)
	assert.Equal(t, 0.0, testutil.ToFloat64(m.CircuitState.WithLabelValues("claude")))
	assert.Contains(t, logs.String(), "level=INFO msg=circuit_breaker_state_change agent=claude from=open to=closed")
	_, ok = view.Reset("no-such-agent")
	assert.False(t, ok)
}

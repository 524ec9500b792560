package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/registry"
	"github.com/aragora/aragora/breaker"
	"github.com/aragora/aragora/lifecycle"
	"github.com/aragora/aragora/metrics"
	"github.com/aragora/aragora/server"
	"github.com/aragora/aragora/server/servertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSQLiteDefaultCreatesFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c, err := ConfigFromEnv(func(k string) string { return map[string]string{"ARAGORA_DATA_DIR": dir}[k] })
	require.NoError(t, err)
	be, err := OpenBackends(context.Background(), c)
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

func TestMapAgentErr(t *testing.T) {
	t.Parallel()
	other := errors.New("boom")
	tests := []struct {
		name string
		err  error
		want error
	}{
		{name: "unknown", err: &registry.UnknownError{Spec: "x", Reason: "no such agent"}, want: lifecycle.ErrUnknownAgent},
		{name: "unavailable", err: &registry.UnavailableError{Agent: "claude", Var: "ANTHROPIC_API_KEY"}, want: lifecycle.ErrAgentUnavailable},
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
	m := metrics.New(metrics.NewRegistry(), metrics.Config{})
	a := &Agents{reg: reg, metrics: m}
	ra, err := a.Resolve("demo-ada:critical", 1)
	require.NoError(t, err)
	assert.Equal(t, "demo-ada", ra.Name)
	assert.Equal(t, "demo", ra.Provider)
	_, err = ra.Agent.Respond(context.Background(), agent.Request{Phase: agent.PhaseCritique, Question: "Q?"})
	require.NoError(t, err)
	assert.Equal(t, 1.0, testutil.ToFloat64(m.AgentRequests.WithLabelValues("demo-ada", "success")))
	_, err = a.Resolve("claude", 1)
	assert.ErrorIs(t, err, lifecycle.ErrAgentUnavailable)
	_, err = a.Resolve("nope!", 1)
	assert.ErrorIs(t, err, lifecycle.ErrUnknownAgent)
}

func TestCircuitStateChanges(t *testing.T) {
	t.Parallel()
	reg, err := registry.New(registry.Config{})
	require.NoError(t, err)
	m := metrics.New(metrics.NewRegistry(), metrics.Config{})
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
	require.Equal(t, breaker.StateOpen, view.Circuits()["claude"].State)
	assert.Equal(t, 2.0, testutil.ToFloat64(m.CircuitState.WithLabelValues("claude")))
	assert.Contains(t, logs.String(), "level=WARN msg=circuit_breaker_state_change agent=claude from=closed to=open consecutive_failures=5")

	prev, ok := view.Reset("claude")
	assert.True(t, ok)
	assert.Equal(t, breaker.StateOpen, prev)
	assert.Equal(t, 0.0, testutil.ToFloat64(m.CircuitState.WithLabelValues("claude")))
	assert.Contains(t, logs.String(), "level=INFO msg=circuit_breaker_state_change agent=claude from=open to=closed")
	_, ok = view.Reset("no-such-agent")
	assert.False(t, ok)
}

// callAs serves method path body on h (a service's Handler) with token as
// the bearer and the request headers hdr (name, value pairs); a body is
// application/json.
func callAs(h http.Handler, token, method, path, body string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// createDebateAs POSTs body to /api/debates on h as token (callAs),
// requires 202 and returns the new debate's id.
func createDebateAs(t *testing.T, h http.Handler, token, body string, hdr ...string) string {
	t.Helper()
	w := callAs(h, token, http.MethodPost, "/api/debates", body, hdr...)
	return servertest.CreatedID(t, w.Code, w.Body.Bytes())
}

// waitFinishedAs polls GET /api/debates/{id} on h as token until the
// debate is neither pending nor running, and returns that document.
func waitFinishedAs(t *testing.T, h http.Handler, token, id string) map[string]any {
	t.Helper()
	var d map[string]any
	require.Eventually(t, func() bool {
		d = nil
		_ = json.Unmarshal(callAs(h, token, http.MethodGet, "/api/debates/"+id, "").Body.Bytes(), &d)
		s, _ := d["status"].(string)
		return s != "" && s != "pending" && s != "running"
	}, 60*time.Second, 20*time.Millisecond, "debate %s never finished", id)
	return d
}

// openForTest opens a Service on cfg that shuts down and closes when t
// ends.
func openForTest(t *testing.T, cfg Config) *Service {
	t.Helper()
	svc, err := Open(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = svc.Shutdown(ctx)
		_ = svc.Close()
	})
	return svc
}

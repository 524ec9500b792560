package service

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/demo"
	"github.com/aragora/aragora/agent/registry"
)

// TestPluggedInProvider runs the service with a provider of
// Config.Agents.Providers (its setting read from the environment of
// ConfigFromEnv): a debate names its agent through the API and finishes
// with a receipt, and the agent has its status entry, circuit, agent test
// and connectivity target like a built-in.
func TestPluggedInProvider(t *testing.T) {
	t.Parallel()
	endpoint := httptest.NewServer(http.NotFoundHandler()) // the connectivity target
	defer endpoint.Close()
	const token = "service-provider-test-token-0123456789"
	vars := map[string]string{"ARAGORA_DATABASE_URL": "memory://", "ARAGORA_API_TOKEN": token, "ARAGORA_DATA_DIR": t.TempDir(),
		"HOUSE_KEY": "house-secret", "HOUSE_URL": endpoint.URL}
	cfg, err := ConfigFromEnv(func(k string) string { return vars[k] })
	require.NoError(t, err)
	cfg.Stderr = io.Discard
	var (
		mu   sync.Mutex
		keys []string
	)
	cfg.Agents.Providers = []registry.Provider{{
		Name: "house", DefaultModel: "house-1", KeyVar: "HOUSE_KEY", BaseURLVar: "HOUSE_URL", BaseURL: "https://house.invalid",
		New: func(sp registry.Spec) (agent.Agent, error) {
			mu.Lock()
			keys = append(keys, sp.Key)
			mu.Unlock()
			return demo.New(sp.Name, demo.StyleBalanced, 7), nil // a stand-in model that speaks every phase
		},
	}}
	svc, err := Open(context.Background(), cfg)
	require.NoError(t, err)
	defer svc.Close()
	svc.Start()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, svc.Shutdown(ctx))
	}()

	do := func(method, path, body string) (int, []byte) {
		w := callAs(svc.Handler(), token, method, path, body)
		return w.Code, w.Body.Bytes()
	}
	call := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		code, raw := do(method, path, body)
		var out map[string]any
		_ = json.Unmarshal(raw, &out)
		return code, out
	}

	id := createDebateAs(t, svc.Handler(), token, `{"topic":"Adopt plug-ins?","agents":["house","house:house-2","demo-critic"],"rounds":1}`)
	d := waitFinishedAs(t, svc.Handler(), token, id)
	assert.Equal(t, []any{"house", "house-house-2", "demo-critic"}, d["agents"])
	code, rc := call(http.MethodGet, "/api/debates/"+id+"/receipt", "")
	require.Equal(t, http.StatusOK, code, rc)
	mu.Lock()
	assert.Contains(t, keys, "house-secret", "the provider's setting comes from the environment")
	mu.Unlock()

	_, raw := do(http.MethodGet, "/api/agents/status", "")
	type agentStatus struct {
		Name          string `json:"name"`
		Configured    bool   `json:"configured"`
		Available     bool   `json:"available"`
		CircuitState  string `json:"circuit_state"`
		RequestsTotal int    `json:"requests_total"`
	}
	var status []agentStatus
	require.NoError(t, json.Unmarshal(raw, &status), string(raw))
	byName := map[string]agentStatus{}
	for _, s := range status {
		byName[s.Name] = s
	}
	require.Contains(t, byName, "house", string(raw))
	assert.True(t, byName["house"].Configured)
	assert.True(t, byName["house"].Available)
	assert.Equal(t, "closed", byName["house"].CircuitState)
	assert.Positive(t, byName["house"].RequestsTotal, "calls through the middleware are counted")
	require.Contains(t, byName, "house-house-2")

	code, at := call(http.MethodPost, "/api/debug/agent-test", `{"agent":"house:house-3"}`)
	require.Equal(t, http.StatusOK, code, at)
	assert.Equal(t, true, at["ok"], at)
	assert.Equal(t, "house-house-3", at["agent"])

	code, cc := call(http.MethodPost, "/api/debug/connectivity-check", `{"providers":["house"]}`)
	require.Equal(t, http.StatusOK, code, cc)
	results, _ := cc["results"].([]any)
	require.Len(t, results, 1, cc)
	r0, _ := results[0].(map[string]any)
	assert.Equal(t, "house", r0["provider"])
	assert.Equal(t, endpoint.URL, r0["url"], "HOUSE_URL overrides the default endpoint")
	assert.Equal(t, true, r0["ok"], r0)
}

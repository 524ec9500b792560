package provider_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/agenttest"
	"github.com/aragora/aragora/agent/diag"
	"github.com/aragora/aragora/agent/registry"
	"github.com/aragora/aragora/examples/provider"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wire makes the conformance suite's httptest server speak Acme's format:
// this is the part of the test a third party rewrites for its own API.
var wire = agenttest.Wire{
	Reply: func(w http.ResponseWriter, text string, u agent.Usage) {
		writeJSON(w, http.StatusOK, map[string]any{"output": text,
			"usage": map[string]int{"input_tokens": u.InputTokens, "output_tokens": u.OutputTokens}})
	},
	Empty: func(w http.ResponseWriter) {
		writeJSON(w, http.StatusOK, map[string]any{"output": "", "usage": map[string]int{}})
	},
	Error: func(w http.ResponseWriter, status int, message string, quota bool) {
		code := "error"
		if quota {
			code = "quota_exceeded"
		}
		writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": message}})
	},
	DecodeRequest: func(_ *http.Request, body []byte) (agenttest.Sent, error) {
		var req struct {
			System    string `json:"system"`
			Prompt    string `json:"prompt"`
			MaxTokens int    `json:"max_tokens"`
		}
		err := json.Unmarshal(body, &req)
		return agenttest.Sent{System: req.System, Prompt: req.Prompt, MaxTokens: req.MaxTokens}, err
	},
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// TestConformance runs the adapter against the suite every provider passes:
// replies, error statuses and their kinds, Retry-After, dropped
// connections, a server that never answers, cancellation, malformed and
// empty replies.
func TestConformance(t *testing.T) {
	agenttest.Conformance(t, agenttest.Harness{
		NewAgent: func(baseURL string, c *http.Client) agent.Agent {
			a, err := provider.New(provider.Config{APIKey: "k", BaseURL: baseURL, HTTPClient: c})
			require.NoError(t, err)
			return a
		},
		Wire:     wire,
		Provider: provider.Name,
		Model:    provider.DefaultModel,
	})
}

// registryWith returns a registry knowing Acme, configured by vars as
// `aragora serve` would be from the environment.
func registryWith(t *testing.T, vars map[string]string) *registry.Registry {
	t.Helper()
	cfg, err := registry.FromEnv(func(k string) string { return vars[k] })
	require.NoError(t, err)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	cfg.HTTPClient = &http.Client{Transport: tr}
	cfg.Providers = []registry.Provider{provider.Provider()}
	r, err := registry.New(cfg)
	require.NoError(t, err)
	return r
}

// TestThroughTheRegistry plugs the provider into a registry: its agents
// get their key and endpoint from the environment, run through the
// middleware, show in the status and are checked like built-ins.
func TestThroughTheRegistry(t *testing.T) {
	t.Parallel()
	api := httptest.NewServer(provider.Fake{Key: "acme-key"})
	defer api.Close()
	r := registryWith(t, map[string]string{"ACME_API_KEY": "acme-key", "ACME_BASE_URL": api.URL})

	name, a, info, err := r.Resolve("acme:acme-2", 1)
	require.NoError(t, err)
	assert.Equal(t, "acme-acme-2", name)
	assert.Equal(t, "acme", info.Provider)
	resp, err := a.Respond(t.Context(), agent.Request{Prompt: "Say hello."})
	require.NoError(t, err)
	assert.Equal(t, "Acme considered it carefully. Say hello.", resp.Text)
	assert.Equal(t, "acme-2", resp.Model)
	assert.EqualValues(t, 1, r.Stats().Snapshot(name).RequestsTotal)

	_, direct, _, err := r.ResolveDirect("acme")
	require.NoError(t, err)
	res := diag.TestAgent(t.Context(), direct, "", 0, 0)
	assert.True(t, res.OK, res.Error)
	targets, err := r.Targets(provider.Name)
	require.NoError(t, err)
	assert.Equal(t, []diag.Target{{Provider: provider.Name, URL: api.URL}}, targets)

	var acme *registry.Status
	for _, s := range r.Status() {
		if s.Name == provider.Name {
			acme = &s
		}
	}
	require.NotNil(t, acme, "acme has a status entry")
	assert.True(t, acme.Available)
}

func TestWrongKeyIsAnAuthError(t *testing.T) {
	t.Parallel()
	api := httptest.NewServer(provider.Fake{Key: "acme-key"})
	defer api.Close()
	r := registryWith(t, map[string]string{"ACME_API_KEY": "wrong", "ACME_BASE_URL": api.URL})
	_, a, _, err := r.Resolve("acme", 1)
	require.NoError(t, err)
	_, err = a.Respond(t.Context(), agent.Request{Prompt: "Say hello."})
	assert.Equal(t, agent.KindAuth, agent.KindOf(err), fmt.Sprint(err))
}

func TestWithoutKeyTheAgentIsRefused(t *testing.T) {
	t.Parallel()
	r := registryWith(t, nil)
	_, _, _, err := r.Resolve("acme", 1)
	var ue *registry.UnavailableError
	require.True(t, errors.As(err, &ue), "%v", err)
	assert.Equal(t, "ACME_API_KEY", ue.Var)
}

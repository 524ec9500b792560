package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/examples/provider"
	"github.com/aragora/aragora/service"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const token = "embedservice-test-token-0123456789abcdef"

// TestEmbeddedService starts the program on loopback, on SQLite in a
// temporary data directory and with a fake Acme API, creates a debate
// that uses the acme agent through the HTTP API, follows it to the end,
// fetches its receipt and calls the program's own route.
func TestEmbeddedService(t *testing.T) {
	acme := httptest.NewServer(provider.Fake{Key: "acme-key"})
	defer acme.Close()
	dir := t.TempDir()
	vars := map[string]string{
		"ARAGORA_HOST": "127.0.0.1", "ARAGORA_API_PORT": "0", "ARAGORA_DATA_DIR": dir,
		"ARAGORA_DATABASE_URL": "sqlite:///" + strings.TrimPrefix(dir, "/") + "/aragora.db",
		"ARAGORA_API_TOKEN":    token, "ARAGORA_LOG_DIR": dir,
		"ACME_API_KEY": "acme-key", "ACME_BASE_URL": acme.URL,
	}
	ctx, cancel := context.WithCancel(context.Background())
	opened := make(chan *service.Service, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, func(k string) string { return vars[k] }, func(s *service.Service) { opened <- s })
	}()
	defer func() {
		cancel()
		require.NoError(t, <-done, "a clean shutdown")
	}()
	var svc *service.Service
	select {
	case svc = <-opened:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	require.Eventually(t, func() bool { return svc.APIAddr() != nil }, 30*time.Second, 10*time.Millisecond, "the API listener is bound")
	base := "http://" + svc.APIAddr().String()

	call := func(method, path, body string, out any) int {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, base+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		if out != nil {
			require.NoError(t, json.Unmarshal(data, out), string(data))
		}
		return resp.StatusCode
	}

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/api/hello", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "hello from my program\n", string(body), "the program's own route is served")

	var created struct {
		ID string `json:"id"`
	}
	code := call(http.MethodPost, "/api/debates", `{"topic":"Should we ship on Fridays?","agents":["acme","demo-analyst","demo-critic"],"rounds":1}`, &created)
	require.Equal(t, http.StatusAccepted, code)
	require.NotEmpty(t, created.ID)

	// Follow the debate by polling its state until it is finished.
	var d struct {
		Status    string   `json:"status"`
		Agents    []string `json:"agents"`
		ReceiptID *string  `json:"receipt_id"`
	}
	require.Eventually(t, func() bool {
		call(http.MethodGet, "/api/debates/"+created.ID, "", &d)
		return d.Status != "pending" && d.Status != "running"
	}, 60*time.Second, 20*time.Millisecond, "the debate finishes")
	assert.Contains(t, []string{"consensus_reached", "no_consensus"}, d.Status)
	assert.Equal(t, []string{"acme", "demo-analyst", "demo-critic"}, d.Agents)
	require.NotNil(t, d.ReceiptID)

	var rc struct {
		ReceiptID string `json:"receipt_id"`
		DebateID  string `json:"debate_id"`
		Agents    []struct {
			Name  string `json:"name"`
			Model string `json:"model"`
		} `json:"agents"`
	}
	require.Equal(t, http.StatusOK, call(http.MethodGet, "/api/debates/"+created.ID+"/receipt", "", &rc))
	assert.Equal(t, *d.ReceiptID, rc.ReceiptID)
	assert.Equal(t, created.ID, rc.DebateID)
	require.NotEmpty(t, rc.Agents)
	assert.Equal(t, "acme", rc.Agents[0].Name)
	assert.Equal(t, provider.DefaultModel, rc.Agents[0].Model, "the receipt names the provider's model")

	var status []struct {
		Name          string `json:"name"`
		Provider      string `json:"provider"`
		RequestsTotal int    `json:"requests_total"`
	}
	require.Equal(t, http.StatusOK, call(http.MethodGet, "/api/agents/status", "", &status))
	var acmeCalls int
	for _, s := range status {
		if s.Name == provider.Name {
			acmeCalls = s.RequestsTotal
			assert.Equal(t, provider.Name, s.Provider)
		}
	}
	assert.Positive(t, acmeCalls, "the debate called the acme agent through the middleware")
}

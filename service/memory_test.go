package service

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMemoryConfigFromEnv(t *testing.T) {
	t.Parallel()
	c, err := ConfigFromEnv(func(string) string { return "" })
	require.NoError(t, err)
	assert.Equal(t, MemoryConfig{Enabled: true, TopK: 5, TokenBudget: 400, CleanupInterval: time.Hour}, c.Memory)
	env := map[string]string{"ARAGORA_MEMORY_ENABLED": "false", "ARAGORA_MEMORY_TOP_K": "3", "ARAGORA_MEMORY_TOKEN_BUDGET": "100",
		"ARAGORA_MEMORY_CLEANUP_INTERVAL": "10m"}
	c, err = ConfigFromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.Equal(t, MemoryConfig{Enabled: false, TopK: 3, TokenBudget: 100, CleanupInterval: 10 * time.Minute}, c.Memory)
	for k, v := range map[string]string{"ARAGORA_MEMORY_ENABLED": "maybe", "ARAGORA_MEMORY_TOP_K": "0", "ARAGORA_MEMORY_CLEANUP_INTERVAL": "soon"} {
		_, err := ConfigFromEnv(func(n string) string { return map[string]string{k: v}[n] })
		require.Error(t, err, k)
		assert.Contains(t, err.Error(), k)
	}
}

// TestServiceDebatesRecallMemory runs two debates through the API of a
// service with the memory on: the second recalls what the first recorded
// (memory_recalled in its events), and /api/memory lists the entries. With
// the memory off the routes do not exist.
func TestServiceDebatesRecallMemory(t *testing.T) {
	t.Parallel()
	const token = "service-memory-test-token-0123456789"
	open := func(enabled bool) *Service {
		return openForTest(t, Config{DatabaseURL: "memory://", DataDir: t.TempDir(), APIToken: token,
			Stderr: io.Discard, Memory: MemoryConfig{Enabled: enabled}})
	}
	svc := open(true)
	svc.Start()
	call := func(method, path, body string) *httptest.ResponseRecorder {
		return callAs(svc.Handler(), token, method, path, body)
	}
	debateOnce := func() string {
		id := createDebateAs(t, svc.Handler(), token, `{"topic":"Should the billing service move to Postgres?","rounds":1}`)
		waitFinishedAs(t, svc.Handler(), token, id)
		return id
	}
	eventTypes := func(id string) string { return call(http.MethodGet, "/api/debates/"+id+"/events", "").Body.String() }
	first := debateOnce()
	assert.NotContains(t, eventTypes(first), `"memory_recalled"`)
	// The outcome is recorded after the final checkpoint; wait for it.
	require.Eventually(t, func() bool {
		return strings.Contains(call(http.MethodGet, "/api/memory/continuum", "").Body.String(), first)
	}, 30*time.Second, 20*time.Millisecond)
	second := debateOnce()
	assert.Contains(t, eventTypes(second), `"memory_recalled"`)

	w := call(http.MethodGet, "/api/memory/tiers", "")
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Contains(t, w.Body.String(), `"tier":"slow"`)

	off := open(false)
	assert.Equal(t, http.StatusNotFound, callAs(off.Handler(), token, http.MethodGet, "/api/memory/tiers", "").Code)
}

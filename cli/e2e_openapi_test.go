package cli

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aragora/aragora/internal/apitest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestE2EOpenAPI drives every operation of the real binary (its real agent
// registry, rate limiter, diagnostics and accounts) through the validating
// client, so a response the OpenAPI document does not describe fails.
func TestE2EOpenAPI(t *testing.T) {
	t.Parallel()
	p := startServer(t, t.TempDir(), map[string]string{"ARAGORA_MEMORY_PROFILING": "1",
		"ARAGORA_MEMORY_DUMP_PATH": t.TempDir() + "/dump.json"}, nil)
	v := apitest.Server(t)
	do := func(method, path, body string, want int) []byte {
		t.Helper()
		req, err := http.NewRequest(method, p.apiURL+path, strings.NewReader(body))
		require.NoError(t, err)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := p.http.Do(req)
		require.NoError(t, err)
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		resp.Body.Close()
		assert.Equal(t, want, resp.StatusCode, "%s %s: %s", method, path, b.String())
		return b.Bytes()
	}
	id := p.createDebate(t, `{"topic":"Adopt Postgres?","agents":["demo-analyst","demo-critic:critical","demo-judge"],"rounds":2,"trickster":true}`)
	p.waitDebate(t, id, "finished", finished)

	for _, x := range []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/api/health", "", 200}, {"GET", "/healthz", "", 200}, {"GET", "/api/health/ready", "", 200},
		{"GET", "/readyz", "", 200}, {"GET", "/livez", "", 200}, {"GET", "/metrics", "", 200}, {"GET", "/api/metrics", "", 200},
		{"GET", "/api/openapi.json", "", 200},
		{"GET", "/api/debates", "", 200}, {"GET", "/api/debates/" + id, "", 200},
		{"GET", "/api/debates/" + id + "/events", "", 200}, {"GET", "/api/debates/" + id + "/receipt", "", 200},
		{"GET", "/api/debates/" + id + "/receipt?format=markdown", "", 200},
		{"GET", "/api/debates/" + id + "/receipt?format=html", "", 200},
		{"POST", "/api/debates/" + id + "/cancel", "", 409},
		{"POST", "/api/debates", `{"topic":"x","agents":["claude","demo-judge"]}`, 400},
		{"GET", "/api/agents/status", "", 200}, {"GET", "/api/agents/circuit-breakers", "", 200},
		{"POST", "/api/agents/demo-analyst/reset-circuit", "", 200},
		{"POST", "/api/debug/agent-test", `{"agent":"demo-analyst"}`, 200},
		{"POST", "/api/debug/agent-test", `{"agent":"claude"}`, 400},
		{"POST", "/api/debug/connectivity-check", "", 200},
		{"POST", "/api/debug/memory-dump", "", 200},
		{"GET", "/api/ws/stats", "", 200}, {"GET", "/api/rate-limits/status", "", 200}, {"GET", "/api/rate-limits/config", "", 200},
		{"GET", "/api/auth/me", "", 200}, {"GET", "/api/billing/usage", "", 200}, {"GET", "/api/billing/usage?scope=all", "", 200},
		{"POST", "/api/auth/login", `{"email":"nobody@example.com","password":"wrong-password-1"}`, 401},
		{"GET", "/api/system/circuit-breakers", "", 200}, {"GET", "/api/system/errors", "", 200},
		{"GET", "/api/system/rate-limits", "", 200},
		{"POST", "/api/admin/cleanup-caches", "", 200}, {"POST", "/api/admin/cleanup-stale-debates", `{"dry_run":true}`, 200},
		{"GET", "/api/admin/revoked-tokens", "", 200}, {"GET", "/api/admin/audit-log?limit=5", "", 200},
		{"GET", "/api/webhooks/status", "", 200}, {"GET", "/api/webhooks/queue", "", 200},
		{"POST", "/api/webhooks/retry-failed", "", 200}, {"GET", "/api/webhooks/endpoints", "", 200},
		{"POST", "/api/webhooks/endpoints", `{"url":"http://127.0.0.1:9/hook"}`, 400},
		{"GET", "/ws", "", 426}, {"GET", "/api/no-such-route", "", 404}, {"DELETE", "/api/debates", "", 405},
	} {
		do(x.method, x.path, x.body, x.want)
	}
	var ep struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(do("POST", "/api/webhooks/endpoints", `{"url":"https://hooks.example.com/aragora","events":["debate.finished"]}`, 201), &ep))
	do("POST", "/api/webhooks/endpoints/"+ep.ID+"/test", "", 202)
	do("DELETE", "/api/webhooks/endpoints/"+ep.ID, "", 204)
	// The WebSocket listener's own routes.
	ws := &http.Client{Transport: v.ForListener("ws").Transport(t, &http.Transport{DisableKeepAlives: true}), Timeout: 30 * time.Second}
	for path, want := range map[string]int{"/": 426, "/livez": 200, "/api/health": 404} {
		resp, err := ws.Get(strings.Replace(p.wsBase, "ws://", "http://", 1) + path)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, want, resp.StatusCode, path)
	}
}

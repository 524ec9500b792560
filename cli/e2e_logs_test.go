package cli

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/internal/testenv"
)

// openRouterStandIn answers every chat completion with a short reply, as
// OpenRouter would.
func openRouterStandIn(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"gen-1","model":"openai/gpt-4o","choices":[{"index":0,"message":{"role":"assistant",`+
			`"content":"Migrate in two phases: reads first, then writes."},"finish_reason":"stop"}],`+
			`"usage":{"prompt_tokens":120,"completion_tokens":14}}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// grepLines runs a shell pipeline (a runbook grep) and returns its lines.
func grepLines(t *testing.T, pipeline string) []string {
	t.Helper()
	out, err := exec.Command("bash", "-c", pipeline).Output()
	require.NoError(t, err, "%s", pipeline)
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

func linesWith(lines []string, parts ...string) []string {
	var out []string
	for _, l := range lines {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l+" ", p)
		}
		if ok {
			out = append(out, l)
		}
	}
	return out
}

// TestE2EAgentAndRoundLogs runs a debate whose gpt-4 provider fails (a
// stand-in answering 500) and is rescued by an OpenRouter stand-in, with
// ARAGORA_LOG_DIR set. agent.log holds its agent_error and agent_fallback
// lines with the debate id and correlation id, debate.log its round lines,
// and the log greps of docs/operations.md#logs find them.
func TestE2EAgentAndRoundLogs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	logDir := filepath.Join(dir, "logs")
	p := startServer(t, dir, map[string]string{
		"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": failingProvider(t).URL,
		"OPENROUTER_API_KEY": "or-test", "OPENROUTER_BASE_URL": openRouterStandIn(t).URL,
		"ARAGORA_CB_FAILURE_THRESHOLD": "1", "ARAGORA_LOG_DIR": logDir,
	}, nil)

	const corr = "corr-e2e-agent-logs-7q"
	id, _ := p.createDebateWith(t, `{"topic":"Adopt Postgres?","agents":["demo-analyst","demo-critic","gpt-4"],"rounds":2,"min_rounds":2,"seed":9}`,
		"X-Correlation-ID", corr)
	p.waitDebate(t, id, "finished", finished)
	p.stop(t) // every record is written

	for _, f := range []string{"api.log", "debate.log", "agent.log"} {
		_, err := os.Stat(filepath.Join(logDir, f))
		require.NoError(t, err)
	}
	ids := []string{"debate_id=" + id + " ", "correlation_id=" + corr + " "}

	// One debate, end to end, and its errors.
	errs := grepLines(t, `grep "debate_id=`+id+`" `+logDir+`/*.log | grep -i error`)
	agentErrs := linesWith(errs, append(ids, "agent.log:", "logger=aragora.agent.openai ", "message=agent_error ", "agent=gpt-4 ",
		"provider=openai ", "model=gpt-4o ", "error_kind=")...)
	assert.NotEmpty(t, agentErrs, "the failing provider's agent_error lines:\n%s", strings.Join(errs, "\n"))

	// One request and what it caused.
	all := grepLines(t, `grep "`+corr+`" `+logDir+`/*.log`)
	assert.NotEmpty(t, linesWith(all, "api.log:", "message=request ", "route=/api/debates "))
	fallbacks := linesWith(all, append(ids, "agent.log:", "level=WARN ", "message=agent_fallback ", "agent=gpt-4 ",
		"from_provider=openai ", "from_model=gpt-4o ", "to_provider=openrouter ", "to_model=openai/gpt-4o ", "error_kind=")...)
	assert.NotEmpty(t, fallbacks, "agent_fallback lines:\n%s", strings.Join(all, "\n"))
	calls := linesWith(all, append(ids, "agent.log:", "message=agent_call ", "phase=", "duration_ms=", "tokens_in=", "tokens_out=",
		"cost_usd=", "outcome=")...)
	assert.NotEmpty(t, linesWith(calls, "agent=gpt-4 ", "outcome=fallback "))
	assert.NotEmpty(t, linesWith(calls, "agent=demo-analyst ", "provider=demo ", "outcome=ok "))
	for round := range 2 {
		r := "round=" + string(rune('1'+round)) + " "
		assert.Len(t, linesWith(all, append(ids, "debate.log:", "logger=aragora.debate.orchestrator ", "message=round_start ", r)...), 1, r)
		assert.Len(t, linesWith(all, append(ids, "debate.log:", "message=round_end ", r, "duration_ms=")...), 1, r)
	}

	// Breaker state changes.
	cb := grepLines(t, `grep "circuit_breaker" `+logDir+`/agent.log`)
	assert.NotEmpty(t, linesWith(cb, "message=circuit_breaker_state_change ", "agent=gpt-4 ", "to=open "))
}

// TestE2ERedisBreaker checks that GET /api/system/circuit-breakers of a
// server with Redis configured lists the Redis breaker, closed, with the
// configured policy, and counts it in the summary.
func TestE2ERedisBreaker(t *testing.T) {
	redisURL := testenv.RedisURL(t, "the Redis breaker test")
	t.Parallel()
	p := startServer(t, t.TempDir(), map[string]string{"ARAGORA_REDIS_URL": redisURL,
		"ARAGORA_CB_FAILURE_THRESHOLD": "4", "ARAGORA_CB_OPEN_SECONDS": "45"}, nil)
	id := p.createDebate(t, `{"topic":"Adopt Postgres?","rounds":1,"seed":2}`) // Redis in use: events fan out
	p.waitDebate(t, id, "finished", finished)
	var view struct {
		Summary  map[string]int `json:"summary"`
		Breakers map[string]struct {
			Kind             string  `json:"kind"`
			State            string  `json:"state"`
			FailureThreshold int     `json:"failure_threshold"`
			OpenSeconds      float64 `json:"open_seconds"`
		} `json:"breakers"`
	}
	p.getJSON(t, "/api/system/circuit-breakers", &view)
	rb, ok := view.Breakers["redis"]
	require.True(t, ok, "breakers: %v", view.Breakers)
	assert.Equal(t, "redis", rb.Kind)
	assert.Equal(t, "closed", rb.State)
	assert.Equal(t, 4, rb.FailureThreshold)
	assert.Equal(t, 45.0, rb.OpenSeconds)
	assert.Equal(t, len(view.Breakers), view.Summary["total"])
	assert.Equal(t, len(view.Breakers), view.Summary["closed"])
}

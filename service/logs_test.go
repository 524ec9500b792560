package service

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// TestLogFilesPerComponent checks docs/operations.md: per-component files under
// ARAGORA_LOG_DIR in logfmt with the runbook's keys, WARN and above also on
// stderr, and SIGHUP's reopen after logrotate moved the files.
func TestLogFilesPerComponent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var stderr bytes.Buffer
	l, err := newLogs(Config{Env: "development", LogLevel: "info", LogDir: dir}, &stderr)
	require.NoError(t, err)
	defer l.Close()

	l.logger("aragora.api").Info("request", "method", "GET", "duration_ms", 7, "debate_id", "abc123")
	l.logger("aragora.ratelimit").Warn("rate_limit_exceeded", "client_ip", "192.0.2.1")
	l.logger("aragora.debate.orchestrator").Info("debate_start", "debate_id", "abc123")
	l.logger("aragora.breaker").Warn("circuit_breaker_state_change", "agent", "claude")
	l.logger("aragora.agent.anthropic").Info("agent_call", "duration_ms", 812)
	l.logger("aragora.websocket").Info("websocket_connect")
	l.logger("aragora.api").Debug("hidden at info")

	api := readFile(t, filepath.Join(dir, "api.log"))
	assert.Regexp(t, regexp.MustCompile(`(?m)^timestamp=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=INFO message=request logger=aragora.api method=GET duration_ms=7 debate_id=abc123$`), api)
	assert.Contains(t, api, "level=WARN message=rate_limit_exceeded logger=aragora.ratelimit")
	assert.NotContains(t, api, "hidden at info")
	assert.Regexp(t, `duration_ms=[0-9]`, api, "the runbook's slow-request grep matches")
	assert.Contains(t, readFile(t, filepath.Join(dir, "debate.log")), "message=debate_start logger=aragora.debate.orchestrator debate_id=abc123")
	agentLog := readFile(t, filepath.Join(dir, "agent.log"))
	assert.Contains(t, agentLog, "circuit_breaker_state_change")
	assert.Contains(t, agentLog, "logger=aragora.agent.anthropic")
	assert.Contains(t, readFile(t, filepath.Join(dir, "websocket.log")), "websocket_connect")
	// Only WARN and above reach stderr when files are configured.
	assert.Contains(t, stderr.String(), "rate_limit_exceeded")
	assert.Contains(t, stderr.String(), "circuit_breaker_state_change")
	assert.NotContains(t, stderr.String(), "message=request")

	// logrotate moves the file; SIGHUP (reopen) starts a new one.
	require.NoError(t, os.Rename(filepath.Join(dir, "api.log"), filepath.Join(dir, "api.log.1")))
	l.reopen()
	l.logger("aragora.api").Info("after_rotation")
	assert.Contains(t, readFile(t, filepath.Join(dir, "api.log")), "after_rotation")
	assert.NotContains(t, readFile(t, filepath.Join(dir, "api.log.1")), "after_rotation")
	info, err := os.Stat(filepath.Join(dir, "api.log"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), info.Mode().Perm())
}

func TestLogJSONFormat(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	l, err := newLogs(Config{Env: "production", LogLevel: "info"}, &stderr)
	require.NoError(t, err)
	l.logger("aragora.debate.orchestrator").Info("debate_start", "debate_id", "deb_1", "correlation_id", "corr-x")
	var rec map[string]any
	require.NoError(t, json.Unmarshal(bytes.TrimSpace(stderr.Bytes()), &rec), "production logs JSON on stderr")
	assert.Equal(t, "INFO", rec["level"])
	assert.Equal(t, "debate_start", rec["message"])
	assert.Equal(t, "aragora.debate.orchestrator", rec["logger"])
	assert.Equal(t, "corr-x", rec["correlation_id"])
	assert.Contains(t, rec, "timestamp")
}

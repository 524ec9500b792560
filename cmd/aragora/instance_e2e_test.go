package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serveOnce runs `aragora serve` on the given ports and data directory
// until it exits by itself and returns its exit code and output.
func serveOnce(t *testing.T, dataDir string, apiPort, wsPort int) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, aragoraBinary(t), "serve", "--host", "127.0.0.1",
		"--api-port", strconv.Itoa(apiPort), "--ws-port", strconv.Itoa(wsPort))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ARAGORA_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "ARAGORA_DATA_DIR="+dataDir, "ARAGORA_LOCAL_ADMIN=1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), string(out)
	}
	require.NoError(t, err, "serve should have exited with a status:\n%s", out)
	return 0, string(out)
}

// TestE2ESecondServeRefused: a second `aragora serve` on the address of a
// live one, or on its SQLite data directory, exits 2 naming the instance,
// instead of splitting traffic with it; the first one keeps serving.
func TestE2ESecondServeRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := startServer(t, dir, nil, nil)

	code, out := serveOnce(t, t.TempDir(), first.apiPort, freePort(t))
	assert.Equal(t, exitUsage, code, out)
	assert.Regexp(t, `another aragora serve \(\S+-\d+-[0-9a-f]+\) is running on 127\.0\.0\.1:`+strconv.Itoa(first.apiPort)+` and is not draining`, out)

	code, out = serveOnce(t, dir, freePort(t), freePort(t))
	assert.Equal(t, exitUsage, code, out)
	assert.Contains(t, out, "another aragora serve (pid "+strconv.Itoa(first.cmd.Process.Pid)+") is running on "+dir)

	code, _ = first.get(t, "/readyz")
	assert.Equal(t, http.StatusOK, code, "the first server is untouched")
}

// TestE2ECrashRestartClaimsAtOnce: after SIGKILL, the next server on the
// SQLite data directory holds its lock, which proves the previous owner
// dead: by the time it first answers ready it has claimed the running
// debates, without waiting for their leases (30 s) to expire.
func TestE2ECrashRestartClaimsAtOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{demoDelayEnv: "600000", "ARAGORA_DEBATE_LEASE_SECONDS": "3600"}
	first := startServer(t, dir, env, nil)
	id := first.createDebate(t, `{"topic":"Crash me","rounds":2,"seed":9}`)
	first.waitDebate(t, id, "running", func(d debateView) bool { return d.Status == "running" && d.LastSeq >= 2 })
	require.NoError(t, first.cmd.Process.Kill())
	<-first.done

	start := time.Now()
	second := startServer(t, dir, env, first)
	var obj struct {
		Status string `json:"status"`
	}
	second.getJSON(t, "/api/debates/"+id, &obj)
	assert.Equal(t, "running", obj.Status)
	// The claim is logged before the first 200 from readiness.
	logs := second.out.String()
	claim := strings.Index(logs, "debate_lease_taken_over logger=aragora.debate.orchestrator debate_id="+id)
	ready := regexp.MustCompile(`route=/api/health/ready \S+ status=200`).FindStringIndex(logs)
	require.NotEqual(t, -1, claim, "the dead server's debate is taken over")
	require.NotNil(t, ready)
	assert.Less(t, claim, ready[0], "claimed before the first ready answer")
	t.Logf("ready and resumed %.1f s after the restart (lease 3600 s)", time.Since(start).Seconds())
}

package cli

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/internal/syncbuf"
	"github.com/aragora/aragora/nomic"
)

// waitFor polls cond every 100 ms until it holds (or fails the test after
// the e2e deadline, naming what).
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(e2eDeadline)
	for {
		ok, last := cond()
		if ok {
			return
		}
		require.True(t, time.Now().Before(deadline), "%s: never happened (last: %s)", what, last)
		time.Sleep(100 * time.Millisecond)
	}
}

// TestE2ENomicLoopControlledThroughTheAPI runs `aragora serve` and
// `aragora nomic run` on one store: pause, reset to a phase while paused,
// breaker reset and resume through the HTTP API change what the running
// loop does, as /api/admin/nomic/status, /api/nomic/metrics and /metrics
// show; the runbook's shims run as written.
func TestE2ENomicLoopControlledThroughTheAPI(t *testing.T) {
	bin := aragoraBinary(t)
	dir, pub := slowVerifyRepo(t, bin)
	base := gitCmd(t, dir, "rev-parse", "HEAD")

	dataDir := t.TempDir()
	srv := startServer(t, dataDir, nil, nil)
	var m nomic.MetricsSummary
	srv.getJSON(t, "/api/nomic/metrics", &m)
	assert.Equal(t, "not_running", m.Status)
	code, body := srv.get(t, "/metrics")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, string(body), "aragora_nomic_current_phase 0\n", "idle from the first scrape")

	done, loopOut := startNomicLoop(t, bin, dir, pub, "ARAGORA_DATA_DIR="+dataDir)

	waitLoopInVerify(t, srv, "")
	var st nomic.Status
	srv.post(t, "/api/admin/nomic/pause", `{"reason": "Manual investigation"}`, http.StatusOK, &st)
	assert.Equal(t, "paused", st.State)
	srv.getJSON(t, "/api/nomic/metrics", &m)
	assert.Equal(t, "paused", m.Status)
	waitFor(t, "/metrics shows phase 7 (paused)", func() (bool, string) {
		_, body := srv.get(t, "/metrics")
		return strings.Contains(string(body), "aragora_nomic_current_phase 7\n"), ""
	})
	srv.post(t, "/api/admin/nomic/pause", `{"reason": "again"}`, http.StatusConflict, nil)

	// While paused: reset the cycle to design, reset the breakers, resume.
	var reset nomic.ResetResult
	srv.post(t, "/api/admin/nomic/reset", `{"target_phase": "design", "clear_errors": true, "reason": "Manual recovery"}`, http.StatusOK, &reset)
	assert.Equal(t, "loop", reset.Applied)
	assert.Equal(t, nomic.PhaseDesign, reset.NewPhase)
	srv.post(t, "/api/admin/nomic/circuit-breakers/reset", "", http.StatusOK, nil)
	srv.post(t, "/api/admin/nomic/resume", "", http.StatusOK, nil)

	waitLoopDone(t, done, loopOut, "after resume")
	assert.Equal(t, base, gitCmd(t, dir, "rev-parse", "HEAD~1"), "one commit")
	srv.getJSON(t, "/api/nomic/metrics", &m)
	assert.Equal(t, int64(1), m.Summary.Cycles["success"])
	assert.Equal(t, int64(1), m.Summary.RecoveryDecisions["restart"], "the reset restarted the cycle")
	assert.Equal(t, int64(1), m.Summary.PhaseTransitions["verify->design"])
	waitFor(t, "/metrics counts the cycle", func() (bool, string) {
		_, body := srv.get(t, "/metrics")
		return strings.Contains(string(body), `aragora_nomic_cycles_total{outcome="success"} 1`+"\n"), ""
	})
	tr, err := filepath.Glob(filepath.Join(dir, ".nomic", "sessions", "*", "transcript.md"))
	require.NoError(t, err)
	require.Len(t, tr, 1)
	b, err := os.ReadFile(tr[0])
	require.NoError(t, err)
	assert.Contains(t, string(b), "paused by")
	assert.Contains(t, string(b), "## Reset")
}

// slowVerifyRepo returns a sample repository (and the constitution's
// public key) whose constitution starts verify with a 3 s step, slow enough
// to pause the loop in, signed and committed.
func slowVerifyRepo(t *testing.T, bin string) (dir, pub string) {
	t.Helper()
	dir, pub, keyDir := sampleRepo(t)
	file := filepath.Join(dir, nomic.ConstitutionPath)
	con, _, err := nomic.LoadConstitution(file)
	require.NoError(t, err)
	con.Verify = append([]nomic.Command{{Name: "slow", Argv: []string{"sleep", "3"}}}, con.Verify...)
	require.NoError(t, con.Write(file))
	shim := exec.Command("python3", filepath.Join("..", "scripts", "sign_constitution.py"), "sign", "--file", file, "--key", filepath.Join(keyDir, "constitution.key"))
	shim.Env = append(os.Environ(), "ARAGORA_BIN="+bin)
	out, err := shim.CombinedOutput()
	require.NoError(t, err, "%s", out)
	gitCmd(t, dir, "commit", "-qam", "slow verify")
	return dir, pub
}

// waitLoopInVerify waits until p's /api/admin/nomic/status shows the loop
// running its verify phase, which slowVerifyRepo's check holds it in
// (where: the replica asked, if it matters).
func waitLoopInVerify(t *testing.T, p *serverProc, where string) {
	t.Helper()
	waitFor(t, "the loop reaches verify"+where, func() (bool, string) {
		var st nomic.Status
		p.getJSON(t, "/api/admin/nomic/status", &st)
		return st.Running && st.Phase == nomic.PhaseVerify, st.Phase
	})
}

// waitLoopDone waits for the loop of startNomicLoop to exit cleanly (when
// naming the moment it should have); its exit stays on done for the
// cleanup.
func waitLoopDone(t *testing.T, done chan error, out *syncbuf.Buffer, when string) {
	t.Helper()
	select {
	case err := <-done:
		done <- err
		require.NoError(t, err, out.String())
	case <-time.After(e2eDeadline):
		t.Fatalf("the loop did not finish %s", when)
	}
}

// startNomicLoop runs one auto cycle of the runbook's nomic_loop.py shim
// over dir with env (the store's variables) and returns the channel of its
// exit and its output; the loop is killed when the test ends.
func startNomicLoop(t *testing.T, bin, dir, pub string, env ...string) (chan error, *syncbuf.Buffer) {
	t.Helper()
	loop := exec.Command("python3", filepath.Join("..", "scripts", "nomic_loop.py"), "run", "--cycles", "1", "--path", dir, "--auto")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ARAGORA_") && !strings.HasPrefix(kv, "NOMIC_") {
			loop.Env = append(loop.Env, kv)
		}
	}
	loop.Env = append(loop.Env, "ARAGORA_BIN="+bin, envConstitutionPubKey+"="+pub, envNomicAutoCommit+"=1")
	loop.Env = append(loop.Env, env...)
	loopOut := &syncbuf.Buffer{}
	loop.Stdout, loop.Stderr = loopOut, loopOut
	require.NoError(t, loop.Start())
	done := make(chan error, 1)
	go func() { done <- loop.Wait() }()
	t.Cleanup(func() {
		_ = loop.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("nomic run output:\n%s", loopOut.String())
		}
	})
	return done, loopOut
}

package cli

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/sqlitestore"
)

// comparable strips what differs between two runs of the same seeded
// debate: timestamps, latencies and the debate and receipt ids.
func comparableEvents(t *testing.T, evs []store.Event) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, e := range evs {
		var m map[string]any
		require.NoError(t, json.Unmarshal(e.JSON, &m))
		delete(m, "ts")
		delete(m, "debate_id")
		if d, ok := m["data"].(map[string]any); ok {
			for _, k := range []string{"latency_ms", "duration_seconds", "receipt_id"} {
				delete(d, k)
			}
		}
		out = append(out, m)
	}
	return out
}

func openTestStore(t *testing.T, dataDir string) *sqlitestore.Store {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), filepath.Join(dataDir, "aragora.db"), sqlitestore.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func onlyDebate(t *testing.T, st store.DebateStore) *store.Debate {
	t.Helper()
	ds, err := st.ListDebates(context.Background(), store.Filter{})
	require.NoError(t, err)
	require.Len(t, ds, 1)
	return ds[0]
}

// TestDebateSurvivesSIGKILLAndResumes kills a real `aragora debate` process
// with SIGKILL in the middle of its debate, then continues the debate from
// another process with --resume: the stored event stream continues without
// gap or duplicate and equals an uninterrupted run of the same seed.
func TestDebateSurvivesSIGKILLAndResumes(t *testing.T) {
	t.Parallel()
	question := "Should we migrate the billing service to Postgres?"
	debateArgs := []string{"debate", question, "--rounds", "2", "--seed", "9", "--format", "json"}

	// The reference: the same debate, uninterrupted, in process.
	refDir := t.TempDir()
	ref := runCLI(t, context.Background(), map[string]string{"ARAGORA_DATA_DIR": refDir}, debateArgs...)
	require.Equal(t, 0, ref.code, ref.stderr)
	refStore := openTestStore(t, refDir)
	refDebate := onlyDebate(t, refStore)
	refEvents, err := refStore.ListEvents(context.Background(), refDebate.ID, 0, 0)
	require.NoError(t, err)

	// The victim: a subprocess whose demo agents take 400 ms per call, so
	// that the phases left after the first (at least five) take two
	// seconds: the poll below, however slow a loaded machine makes it,
	// sees the first phases checkpointed and kills the process long
	// before the end (with 100 ms, a CI run under -race once saw the
	// debate finished).
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestDebateHelperProcess$", "--"}, debateArgs...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ARAGORA_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, helperEnv+"=1", demoDelayEnv+"=400", "ARAGORA_DATA_DIR="+dir)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	// Kill it once a few phases are checkpointed, well before the end.
	st := openTestStore(t, dir)
	var d *store.Debate
	require.Eventually(t, func() bool {
		ds, err := st.ListDebates(context.Background(), store.Filter{})
		if err != nil || len(ds) != 1 || ds[0].LastSeq < 8 {
			return false
		}
		d = ds[0]
		return true
	}, 60*time.Second, 20*time.Millisecond, "the subprocess never checkpointed its first phases")
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	killed, err := st.GetDebate(context.Background(), d.ID)
	require.NoError(t, err)
	require.Equal(t, store.StatusRunning, killed.Status, "killed mid-debate")
	require.Less(t, killed.LastSeq, int64(len(refEvents)))

	// Another process continues it.
	res := runCLI(t, context.Background(), map[string]string{"ARAGORA_DATA_DIR": dir}, "debate", "--resume", d.ID, "--format", "json")
	require.Equal(t, 0, res.code, res.stderr)
	var out struct {
		Debate struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"debate"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &out))
	assert.Equal(t, d.ID, out.Debate.ID)
	assert.Equal(t, refDebate.Status.String(), out.Debate.Status)

	events, err := st.ListEvents(context.Background(), d.ID, 0, 0)
	require.NoError(t, err)
	for i, e := range events {
		require.Equal(t, int64(i+1), e.Seq, "seq contiguous from 1")
	}
	assert.Equal(t, comparableEvents(t, refEvents), comparableEvents(t, events))
	final, err := st.GetDebate(context.Background(), d.ID)
	require.NoError(t, err)
	assert.Equal(t, refDebate.Status, final.Status)
	assert.Equal(t, int64(len(events)), final.LastSeq)

	// Resuming a finished debate prints it again and changes nothing.
	again := runCLI(t, context.Background(), map[string]string{"ARAGORA_DATA_DIR": dir}, "debate", "--resume", d.ID, "--format", "json")
	require.Equal(t, 0, again.code, again.stderr)
	after, err := st.ListEvents(context.Background(), d.ID, 0, 0)
	require.NoError(t, err)
	assert.Len(t, after, len(events))
}

package nomic_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/nomic"
	"github.com/aragora/aragora/store/sqlitestore"
)

// The helper process: a loop over $NOMIC_HELPER_REPO on the SQLite store
// $NOMIC_HELPER_DB that blocks in the phase $NOMIC_HELPER_BLOCK after
// writing the marker file $NOMIC_HELPER_MARK, so the parent can SIGKILL it
// there.
func TestHelperLoopProcess(t *testing.T) {
	if os.Getenv("NOMIC_HELPER_REPO") == "" {
		return // not the helper process
	}
	dir, block, mark := os.Getenv("NOMIC_HELPER_REPO"), os.Getenv("NOMIC_HELPER_BLOCK"), os.Getenv("NOMIC_HELPER_MARK")
	pub, err := base64.StdEncoding.DecodeString(os.Getenv("NOMIC_HELPER_PUB"))
	require.NoError(t, err)
	st, err := sqlitestore.Open(context.Background(), os.Getenv("NOMIC_HELPER_DB"), sqlitestore.Config{})
	require.NoError(t, err)
	s := &scripted{design: designOf("NOTES.md"), implement: fileReply("NOTES.md", "n\n")}
	if block == "implement" {
		s.before = func(_ context.Context, req agent.Request) {
			if req.Phase == nomic.AgentPhaseImplement {
				require.NoError(t, os.WriteFile(mark, []byte("implement"), 0o644))
				select {} // killed here
			}
		}
	}
	l, err := nomic.New(nomic.Config{Path: dir, Participants: participants(s), Store: st, PublicKey: ed25519.PublicKey(pub),
		Auto: true, AutoCommit: true, DebateRounds: 1})
	require.NoError(t, err)
	_, err = l.Run(context.Background(), 1)
	t.Fatalf("the helper loop returned (%v) instead of being killed", err)
}

// killedLoop starts the helper process blocking in block ("implement",
// or "none" when a verify command blocks) and SIGKILLs it once mark exists.
func killedLoop(t *testing.T, r *repo, db, block, mark string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperLoopProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "NOMIC_HELPER_REPO="+r.dir, "NOMIC_HELPER_DB="+db, "NOMIC_HELPER_BLOCK="+block,
		"NOMIC_HELPER_MARK="+mark, "NOMIC_HELPER_PUB="+base64.StdEncoding.EncodeToString(r.pub))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(mark); err == nil {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("the helper never got to its blocking point:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
}

// TestKilledLoopIsRecovered kills a loop process mid-implement and
// mid-verify; the next start reports and replaces the stale lock, removes
// the leftover worktree and completes the interrupted cycle.
func TestKilledLoopIsRecovered(t *testing.T) {
	for _, phase := range []string{"implement", "verify"} {
		t.Run(phase, func(t *testing.T) {
			var verify []nomic.Command
			mark := filepath.Join(t.TempDir(), "verify-mark")
			if phase == "verify" {
				// Blocks (and marks) only on the first run: the marker exists afterwards.
				verify = []nomic.Command{{Name: "test", Argv: []string{"sh", "-c", `if [ -e "$0" ]; then exit 0; fi; : > "$0"; sleep 300`, mark}}}
			} else {
				verify = []nomic.Command{{Name: "true", Argv: []string{"true"}}}
			}
			r := newRepo(t, verify)
			base := r.head(t)
			db := filepath.Join(t.TempDir(), "aragora.db")
			if phase == "verify" {
				killedLoop(t, r, db, "none", mark)
			} else {
				killedLoop(t, r, db, phase, mark)
			}
			live, info, stale, err := nomic.LockStatus(r.dir)
			require.NoError(t, err)
			assert.False(t, live)
			assert.True(t, stale, "the killed loop left its lock")
			assert.NotEqual(t, os.Getpid(), info.PID)
			require.Equal(t, base, r.head(t))

			st, err := sqlitestore.Open(ctxT(t), db, sqlitestore.Config{})
			require.NoError(t, err)
			t.Cleanup(func() { st.Close() })
			raw, err := st.LoadNomicState(ctxT(t))
			require.NoError(t, err)
			before, err := nomic.DecodeState(raw.Doc)
			require.NoError(t, err)
			require.NotNil(t, before.Cycle, "the interrupted cycle is in the state")
			assert.Equal(t, phase, before.Phase)

			s := &scripted{design: designOf("NOTES.md"), implement: fileReply("NOTES.md", "n\n")}
			l, err := nomic.New(nomic.Config{Path: r.dir, Participants: participants(s), Store: st, PublicKey: r.pub,
				Auto: true, AutoCommit: true, DebateRounds: 1})
			require.NoError(t, err)
			outs, err := l.Run(ctxT(t), 1)
			require.NoError(t, err)
			require.Len(t, outs, 1)
			o := outs[0]
			assert.Equal(t, before.Cycle.ID, o.CycleID, "the interrupted cycle is resumed")
			assert.True(t, o.Committed, o.Reason)
			assert.Equal(t, base, gitRun(t, r.dir, "rev-parse", "HEAD~1"))
			assert.Equal(t, "", gitRun(t, r.dir, "status", "--porcelain"))
			assert.Equal(t, 1, strings.Count(gitRun(t, r.dir, "worktree", "list", "--porcelain"), "worktree "))
			assert.Equal(t, 0, s.count(nomic.AgentPhaseDesign), "the design of the killed run is reused")
			raw, err = st.LoadNomicState(ctxT(t))
			require.NoError(t, err)
			after, err := nomic.DecodeState(raw.Doc)
			require.NoError(t, err)
			assert.Equal(t, int64(1), after.Counters.Recovery["restart"])
			assert.Equal(t, int64(1), after.Counters.Transitions["recovery->"+phase])
		})
	}
}

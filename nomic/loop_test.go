package nomic_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/nomic"
	"github.com/aragora/aragora/webhook"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const newFunc = `// Package sample is a tiny module the nomic tests improve.
package sample

// Add returns a plus b.
func Add(a, b int) int { return a + b }

// Sub returns a minus b.
func Sub(a, b int) int { return a - b }
`

const newTest = `package sample

import "testing"

func TestSub(t *testing.T) {
	if Sub(5, 3) != 2 {
		t.Fatal("Sub(5, 3) != 2")
	}
}
`

// TestFullCycleCommitsOneVerifiedChange runs one real cycle (debate with
// demo agents, scripted design and implement, go build/vet/test) and
// checks that the commit, transcript, backup, outcome, store state and
// webhook message agree.
func TestFullCycleCommitsOneVerifiedChange(t *testing.T) {
	r := newRepo(t, nil)
	base := r.head(t)
	s := &scripted{design: designOf("sample.go", "sub_test.go"), implement: fileReply("sample.go", newFunc, "sub_test.go", newTest)}
	var lines []nomic.Progress
	l, st := newLoop(t, r, s, func(c *nomic.Config) { c.Progress = func(p nomic.Progress) { lines = append(lines, p) } })
	outs, err := l.Run(ctxT(t), 1)
	require.NoError(t, err)
	require.Len(t, outs, 1)
	o := outs[0]
	require.Equal(t, nomic.OutcomeSuccess, o.Outcome, o.Reason)
	require.True(t, o.Committed, o.Reason)
	assert.NotEmpty(t, o.ReceiptID, "the debate's receipt id is recorded")
	assert.Equal(t, []string{"sample.go", "sub_test.go"}, o.Files)

	// Exactly one new commit, whose parent is the old HEAD, naming the cycle and receipt.
	assert.Equal(t, base, gitRun(t, r.dir, "rev-parse", "HEAD~1"))
	assert.Equal(t, o.Commit, r.head(t))
	msg := gitRun(t, r.dir, "log", "-1", "--format=%B")
	assert.Contains(t, msg, "Nomic-Cycle: "+o.CycleID)
	assert.Contains(t, msg, "Debate-Receipt: "+o.ReceiptID)
	assert.Equal(t, "", gitRun(t, r.dir, "status", "--porcelain"))
	b, err := os.ReadFile(filepath.Join(r.dir, "sample.go"))
	require.NoError(t, err)
	assert.Equal(t, newFunc, string(b))
	require.True(t, o.Verify.Passed)
	var names []string
	for _, c := range o.Verify.Checks {
		names = append(names, c.Name)
	}
	assert.Equal(t, []string{"protected files", "tests kept", "limits", "build", "vet", "test"}, names)

	// Backup of the touched files, before the change: sample.go existed, sub_test.go did not.
	backups, err := nomic.ListBackups(r.dir)
	require.NoError(t, err)
	require.Len(t, backups, 1)
	assert.Equal(t, o.Backup, filepath.Join(nomic.BackupsDir, filepath.Base(backups[0].Dir)))
	assert.Equal(t, []nomic.BackupFile{{Path: "sample.go", Existed: true}, {Path: "sub_test.go"}}, backups[0].Manifest.Files)
	old, err := os.ReadFile(filepath.Join(backups[0].Dir, "files", "sample.go"))
	require.NoError(t, err)
	assert.Equal(t, sampleMain, string(old))

	// Transcript written through the phases.
	tr, err := os.ReadFile(nomic.TranscriptPath(r.dir, o.CycleID))
	require.NoError(t, err)
	for _, want := range []string{"## Context", "## Debate", "## Design", "## Implement", "## Verify", "## Commit", "## Outcome", o.ReceiptID} {
		assert.Contains(t, string(tr), want)
	}

	// Store: state idle and stopped, counters, the outcome row and the webhook message.
	raw, err := st.LoadNomicState(ctxT(t))
	require.NoError(t, err)
	state, err := nomic.DecodeState(raw.Doc)
	require.NoError(t, err)
	assert.Equal(t, nomic.PhaseIdle, state.Phase)
	assert.True(t, state.Stopped)
	assert.Nil(t, state.Cycle)
	assert.Equal(t, int64(1), state.Counters.Cycles[nomic.OutcomeSuccess])
	for _, tr := range []string{"idle->context", "context->debate", "debate->design", "design->implement", "implement->verify", "verify->commit", "commit->idle"} {
		assert.Equal(t, int64(1), state.Counters.Transitions[tr], tr)
	}
	assert.Equal(t, uint64(1), state.Counters.PhaseDurations[nomic.PhaseVerify].Count)
	m := state.Metrics(state.LastTransitionAt)
	assert.Equal(t, "not_running", m.Status)
	assert.Equal(t, int64(1), m.Summary.Cycles["success"])
	rows, err := st.ListNomicOutcomes(ctxT(t), 0)
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Equal(t, o.CycleID, rows[0].CycleID)
	assert.True(t, rows[0].Committed)
	var stored nomic.Outcome
	require.NoError(t, json.Unmarshal(rows[0].Doc, &stored))
	assert.Equal(t, o.Commit, stored.Commit)
	ds, err := st.DispatchWebhooks(ctxT(t), o.FinishedAt, 10, 0, func(m webhook.Message) []string { return []string{"ep"} })
	require.NoError(t, err)
	require.Len(t, ds, 1)
	cl, err := st.ClaimWebhookDeliveries(ctxT(t), "w", o.FinishedAt, 60e9, 10)
	require.NoError(t, err)
	require.Len(t, cl, 1)
	assert.Equal(t, webhook.EventNomicCycleFinished, cl[0].Message.Type)
	var payload struct {
		Data map[string]any `json:"data"`
	}
	require.NoError(t, json.Unmarshal(cl[0].Message.Payload, &payload))
	assert.Equal(t, o.CycleID, payload.Data["cycle_id"])
	assert.Equal(t, "success", payload.Data["outcome"])
	assert.Equal(t, true, payload.Data["committed"])

	// Progress: a line per phase.
	var phases []string
	for _, p := range lines {
		if p.Message == "" {
			phases = append(phases, p.Phase)
		}
	}
	assert.Equal(t, []string{"context", "debate", "design", "implement", "verify", "commit"}, phases)

	// The lock is released; rollback restores the backup.
	_, err = os.Stat(filepath.Join(r.dir, nomic.LockPath))
	assert.True(t, os.IsNotExist(err))
	dir, err := nomic.ResolveBackup(r.dir, ".nomic/backups/cycle_1/")
	require.NoError(t, err)
	restored, err := nomic.Rollback(r.dir, dir)
	require.NoError(t, err)
	assert.Equal(t, []string{"sample.go", "sub_test.go"}, restored)
	b, _ = os.ReadFile(filepath.Join(r.dir, "sample.go"))
	assert.Equal(t, sampleMain, string(b))
	_, err = os.Stat(filepath.Join(r.dir, "sub_test.go"))
	assert.True(t, os.IsNotExist(err))
}

// TestAutoWithoutAutoCommitLeavesABranch: --auto without NOMIC_AUTO_COMMIT=1.
func TestAutoWithoutAutoCommitLeavesABranch(t *testing.T) {
	r := newRepo(t, []nomic.Command{{Name: "true", Argv: []string{"true"}}})
	base := r.head(t)
	s := &scripted{design: designOf("NOTES.md"), implement: fileReply("NOTES.md", "notes\n")}
	l, _ := newLoop(t, r, s, func(c *nomic.Config) { c.AutoCommit = false })
	outs, err := l.Run(ctxT(t), 1)
	require.NoError(t, err)
	o := outs[0]
	assert.Equal(t, nomic.OutcomeSuccess, o.Outcome)
	assert.False(t, o.Committed)
	assert.Contains(t, o.Reason, "NOMIC_AUTO_COMMIT")
	assert.Equal(t, base, r.head(t))
	assert.Equal(t, "", gitRun(t, r.dir, "status", "--porcelain"))
	assert.Equal(t, "nomic/"+o.CycleID, o.Branch)
	assert.Contains(t, gitRun(t, r.dir, "show", "--stat", o.Branch), "NOTES.md")
	_, err = os.Stat(filepath.Join(r.dir, o.Patch))
	assert.NoError(t, err, "the patch is kept")
}

// adversarial runs one cycle with the given implement reply and checks
// it fails with nothing changed.
func adversarial(t *testing.T, r *repo, design string, implement func(string) string, wantType, wantReason string) nomic.Outcome {
	t.Helper()
	base := r.head(t)
	s := &scripted{design: design, implement: implement}
	l, st := newLoop(t, r, s, nil)
	outs, err := l.Run(ctxT(t), 1)
	require.NoError(t, err)
	require.Len(t, outs, 1)
	o := outs[0]
	assert.Equal(t, nomic.OutcomeFailure, o.Outcome)
	assert.False(t, o.Committed)
	assert.Equal(t, wantType, o.ErrorType, o.Reason)
	assert.Contains(t, o.Reason, wantReason)
	r.assertUntouched(t, base)
	rows, err := st.ListNomicOutcomes(ctxT(t), 0)
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Equal(t, "failure", rows[0].Outcome)
	return o
}

func TestAdversarialCycles(t *testing.T) {
	quick := []nomic.Command{{Name: "build", Argv: []string{"go", "build", "./..."}}}
	cases := []struct {
		name, design string
		implement    func(string) string
		verify       []nomic.Command
		typ, reason  string
	}{
		{"breaks the build", designOf("sample.go"), fileReply("sample.go", "package sample\n\nfunc Add(a, b int) int { return a + }\n"), quick, "build_failure", "build"},
		{"edits a protected file", designOf("NOTES.md"), fileReply("go.mod", "module evil\n"), quick, "protected_file", "go.mod"},
		{"design names a protected file", designOf("go.mod"), fileReply("go.mod", "module evil\n"), quick, "constitution", "protected file go.mod"},
		{"deletes a test file", designOf("sample_test.go"), func(string) string { return "=== DELETE: sample_test.go ===\n" }, quick, "test_removed", "test files 1 -> 0"},
		{"deletes a test function", designOf("sample_test.go"), fileReply("sample_test.go", strings.Split(sampleTest, "func TestAddZero")[0]), quick, "test_removed", "test functions 2 -> 1"},
		{"exceeds the limits", designOf("big.txt"), fileReply("big.txt", strings.Repeat("line\n", 600)), quick, "limits", "600 lines (max 500)"},
		{"dot-dot path", designOf("x.go"), fileReply("../escape.txt", "x\n"), quick, "parse_error", "leaves the repository"},
		{"absolute path", designOf("x.go"), fileReply("/tmp/escape.txt", "x\n"), quick, "parse_error", "absolute path"},
		{"git path", designOf("x.go"), fileReply(".git/hooks/pre-commit", "#!/bin/sh\n"), quick, "parse_error", "inside .git/"},
		{"diff with dot-dot", designOf("x.go"), func(string) string {
			return "```diff\n--- a/../x\n+++ b/../x\n@@ -0,0 +1 @@\n+x\n```\n"
		}, quick, "parse_error", "leaves the repository"},
		{"diff creating a symlink", designOf("link"), func(string) string {
			return "```diff\ndiff --git a/link b/link\nnew file mode 120000\n--- /dev/null\n+++ b/link\n@@ -0,0 +1 @@\n+/etc\n```\n"
		}, quick, "parse_error", "symlink"},
		{"test hangs", designOf("NOTES.md"), fileReply("NOTES.md", "n\n"),
			[]nomic.Command{{Name: "test", Argv: []string{"sh", "-c", "sleep 300 & echo $! > ../child.pid; sleep 300; wait"}, TimeoutSeconds: 1}}, "timeout", "killed after 1s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRepo(t, tc.verify)
			adversarial(t, r, tc.design, tc.implement, tc.typ, tc.reason)
			if tc.typ == "timeout" {
				b, err := os.ReadFile(filepath.Join(r.dir, ".nomic", "worktrees", "child.pid"))
				require.NoError(t, err)
				pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
				require.NoError(t, err)
				assert.False(t, alive(pid), "the hanging test's child %d survived the timeout", pid)
			}
		})
	}
}

// TestSymlinkOutOfTheRepository: a committed symlink to a directory
// outside the repository cannot be written through.
func TestSymlinkOutOfTheRepository(t *testing.T) {
	r := newRepo(t, []nomic.Command{{Name: "true", Argv: []string{"true"}}})
	outside := t.TempDir()
	require.NoError(t, os.Symlink(outside, filepath.Join(r.dir, "out")))
	gitRun(t, r.dir, "add", "out")
	gitRun(t, r.dir, "commit", "-q", "-m", "symlink")
	o := adversarial(t, r, designOf("out/pwned.txt"), fileReply("out/pwned.txt", "x\n"), "invalid_change", "symlink")
	_ = o
	ents, _ := os.ReadDir(outside)
	assert.Empty(t, ents, "nothing was written outside the repository")
}

// TestVerifyEnvironmentIsScrubbed: a verify command that dumps its
// environment sees none of the scrubbed variables.
func TestVerifyEnvironmentIsScrubbed(t *testing.T) {
	secrets := map[string]string{"ARAGORA_JWT_SECRET": "s1", "NOMIC_AUTO_COMMIT": "1", "OPENAI_API_KEY": "s2", "SUPABASE_X": "s3",
		"SENTRY_DSN": "s4", "MY_TOKEN": "s5", "DB_PASSWORD": "s6", "WEBHOOK_URL": "s7", "OTHER_SECRET": "s8", "ANTHROPIC_BASE_URL": "s9"}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	t.Setenv("NOMIC_TEST_VISIBLE_X", "")
	t.Setenv("PLAIN_VISIBLE", "yes")
	r := newRepo(t, []nomic.Command{{Name: "env", Argv: []string{"sh", "-c", "env > ../env-dump.txt"}}})
	s := &scripted{design: designOf("NOTES.md"), implement: fileReply("NOTES.md", "n\n")}
	l, _ := newLoop(t, r, s, nil)
	outs, err := l.Run(ctxT(t), 1)
	require.NoError(t, err)
	require.True(t, outs[0].Committed, outs[0].Reason)
	dump, err := os.ReadFile(filepath.Join(r.dir, ".nomic", "worktrees", "env-dump.txt"))
	require.NoError(t, err)
	assert.Contains(t, string(dump), "PLAIN_VISIBLE=yes")
	for k := range secrets {
		assert.NotContains(t, string(dump), k+"=")
	}
}

func TestRefusals(t *testing.T) {
	s := &scripted{design: designOf("NOTES.md"), implement: fileReply("NOTES.md", "n\n")}
	t.Run("no public key", func(t *testing.T) {
		r := newRepo(t, nil)
		l, _ := newLoop(t, r, s, func(c *nomic.Config) { c.PublicKey = nil })
		_, err := l.Run(ctxT(t), 1)
		require.ErrorIs(t, err, nomic.ErrRefused)
		require.ErrorIs(t, err, nomic.ErrNoPublicKey)
	})
	t.Run("constitution altered by one byte", func(t *testing.T) {
		r := newRepo(t, nil)
		p := filepath.Join(r.dir, nomic.ConstitutionPath)
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		i := strings.Index(string(b), "500")
		require.Positive(t, i)
		b[i] = '9'
		require.NoError(t, os.WriteFile(p, b, 0o644))
		l, _ := newLoop(t, r, s, nil)
		_, err = l.Run(ctxT(t), 1)
		require.ErrorIs(t, err, nomic.ErrBadSignature)
	})
	t.Run("private key in the environment", func(t *testing.T) {
		r := newRepo(t, nil)
		t.Setenv("ARAGORA_CONSTITUTION_KEY", "secret")
		l, _ := newLoop(t, r, s, nil)
		_, err := l.Run(ctxT(t), 1)
		require.ErrorIs(t, err, nomic.ErrRefused)
		assert.Contains(t, err.Error(), "ARAGORA_CONSTITUTION_KEY is set")
	})
	t.Run("whitespace altered", func(t *testing.T) {
		r := newRepo(t, nil)
		p := filepath.Join(r.dir, nomic.ConstitutionPath)
		b, _ := os.ReadFile(p)
		require.NoError(t, os.WriteFile(p, append(b, ' '), 0o644))
		_, err := nomic.VerifyFile(p, r.pub)
		require.ErrorIs(t, err, nomic.ErrBadSignature)
	})
	t.Run("wrong key", func(t *testing.T) {
		r, other := newRepo(t, nil), newRepo(t, nil)
		_, err := nomic.VerifyFile(filepath.Join(r.dir, nomic.ConstitutionPath), other.pub)
		require.ErrorIs(t, err, nomic.ErrBadSignature)
	})
	t.Run("unsigned", func(t *testing.T) {
		r := newRepo(t, nil)
		r.con.Signature = nil
		require.NoError(t, r.con.Write(filepath.Join(r.dir, nomic.ConstitutionPath)))
		_, err := nomic.VerifyFile(filepath.Join(r.dir, nomic.ConstitutionPath), r.pub)
		require.ErrorIs(t, err, nomic.ErrUnsigned)
	})
	t.Run("second loop on the same repository", func(t *testing.T) {
		r := newRepo(t, nil)
		held, err := nomic.AcquireLock(r.dir, time.Now())
		require.NoError(t, err)
		l, _ := newLoop(t, r, s, nil)
		_, err = l.Run(ctxT(t), 1)
		require.ErrorIs(t, err, nomic.ErrLocked)
		require.ErrorIs(t, err, nomic.ErrRefused)
		live, info, _, err := nomic.LockStatus(r.dir)
		require.NoError(t, err)
		assert.True(t, live)
		assert.Equal(t, os.Getpid(), info.PID)
		held.Release()
	})
	t.Run("stale lock of a dead process is replaced", func(t *testing.T) {
		r := newRepo(t, []nomic.Command{{Name: "true", Argv: []string{"true"}}})
		writeFile(t, r.dir, nomic.LockPath, `{"pid":999999,"host":"gone","cycle_id":"c_dead","started_at":"2024-01-15T00:00:00Z"}`)
		live, info, stale, err := nomic.LockStatus(r.dir)
		require.NoError(t, err)
		assert.False(t, live)
		assert.True(t, stale)
		assert.Equal(t, 999999, info.PID)
		var msgs []string
		l, _ := newLoop(t, r, s, func(c *nomic.Config) {
			c.Progress = func(p nomic.Progress) { msgs = append(msgs, p.Message) }
		})
		outs, err := l.Run(ctxT(t), 1)
		require.NoError(t, err)
		assert.True(t, outs[0].Committed)
		assert.Contains(t, strings.Join(msgs, "\n"), "stale lock of pid 999999")
	})
}

// alive reports whether pid runs (a zombie awaiting its reaper does not).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return len(f) > 2 && f[2] != "Z"
}

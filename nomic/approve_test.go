package nomic_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/nomic"
)

type approver struct {
	answer bool
	seen   []nomic.Approval
}

func (a *approver) Approve(_ context.Context, ap nomic.Approval) (bool, error) {
	a.seen = append(a.seen, ap)
	return a.answer, nil
}

// TestApprovalGate: without --auto the approver sees the diff and the
// verify summary; a refusal leaves the verified change on its branch.
func TestApprovalGate(t *testing.T) {
	for _, answer := range []bool{true, false} {
		r := newRepo(t, []nomic.Command{{Name: "true", Argv: []string{"true"}}})
		base := r.head(t)
		a := &approver{answer: answer}
		s := &scripted{design: designOf("NOTES.md"), implement: fileReply("NOTES.md", "approved notes\n")}
		l, _ := newLoop(t, r, s, func(c *nomic.Config) { c.Auto, c.AutoCommit, c.Approver = false, true, a })
		outs, err := l.Run(ctxT(t), 1)
		require.NoError(t, err)
		require.Len(t, a.seen, 1)
		assert.Contains(t, a.seen[0].Diff, "+approved notes")
		assert.Contains(t, a.seen[0].Summary, "[PASS] true")
		assert.Equal(t, answer, outs[0].Committed, outs[0].Reason)
		if answer {
			assert.Equal(t, base, gitRun(t, r.dir, "rev-parse", "HEAD~1"))
		} else {
			assert.Equal(t, base, r.head(t))
			assert.Contains(t, outs[0].Reason, "declined")
			assert.Contains(t, gitRun(t, r.dir, "branch", "--list"), "nomic/"+outs[0].CycleID)
		}
		assert.Equal(t, "", gitRun(t, r.dir, "status", "--porcelain"))
	}
}

// TestPythonRepositoryVerify: a Python repository gets the syntax and
// import checks; a change with a syntax error fails them.
func TestPythonRepositoryVerify(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "calc.py", "def add(a, b):\n    return a + b\n")
	writeFile(t, dir, "tests/test_calc.py", "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n")
	assert.Equal(t, "python", nomic.RepoKind(dir))
	con, err := nomic.NewConstitution(dir)
	require.NoError(t, err)
	require.Len(t, con.Verify, 3)
	assert.Equal(t, []string{"python3", "-m", "pytest", "tests/", "-x", "--tb=short", "-q"}, con.Verify[2].Argv)
	con.Verify = con.Verify[:2] // pytest is not installed everywhere; syntax and imports are
	in := nomic.VerifyInput{Dir: dir, Constitution: con, Before: nomic.TestCount{Files: 1, Funcs: 1},
		Stats: nomic.ChangeStats{Files: []string{"calc.py"}, Added: 1}}
	rep, err := nomic.Checker{}.Verify(ctxT(t), in)
	require.NoError(t, err)
	assert.True(t, rep.Passed, rep.Summary())

	require.NoError(t, os.WriteFile(filepath.Join(dir, "calc.py"), []byte("def add(a, b)\n    return a + b\n"), 0o644))
	rep, err = nomic.Checker{}.Verify(ctxT(t), in)
	require.NoError(t, err)
	assert.False(t, rep.Passed)
	assert.Equal(t, "build_failure", rep.Type)
	assert.Contains(t, rep.Reason(), "syntax")
}

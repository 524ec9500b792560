package nomic_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/demo"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/nomic"
	"github.com/aragora/aragora/store/memstore"
)

// gitRun runs git in dir and returns its trimmed output.
func gitRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

func writeFile(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
}

const sampleMain = `// Package sample is a tiny module the nomic tests improve.
package sample

// Add returns a plus b.
func Add(a, b int) int { return a + b }
`

const sampleTest = `package sample

import "testing"

func TestAdd(t *testing.T) {
	if Add(2, 3) != 5 {
		t.Fatal("Add(2, 3) != 5")
	}
}

func TestAddZero(t *testing.T) {
	if Add(0, 0) != 0 {
		t.Fatal("Add(0, 0) != 0")
	}
}
`

// repo is a throwaway target repository with a signed constitution.
type repo struct {
	dir  string
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
	con  *nomic.Constitution
}

// newRepo creates a Go module repository whose constitution runs verify
// (nil: the default Go commands) and commits it.
func newRepo(t *testing.T, verify []nomic.Command) *repo {
	t.Helper()
	dir := t.TempDir()
	gitRun(t, dir, "init", "-q", "-b", "main")
	gitRun(t, dir, "config", "user.name", "t")
	gitRun(t, dir, "config", "user.email", "t@example.com")
	writeFile(t, dir, "go.mod", "module example.com/sample\n\ngo 1.21\n")
	writeFile(t, dir, "sample.go", sampleMain)
	writeFile(t, dir, "sample_test.go", sampleTest)
	writeFile(t, dir, "README.md", "# sample\n\nA tiny module. TODO: more functions.\n")
	con, err := nomic.NewConstitution(dir)
	require.NoError(t, err)
	if verify != nil {
		con.Verify = verify
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	require.NoError(t, con.Sign(priv))
	require.NoError(t, con.Write(filepath.Join(dir, nomic.ConstitutionPath)))
	gitRun(t, dir, "add", "-A")
	gitRun(t, dir, "commit", "-q", "-m", "initial")
	return &repo{dir: dir, pub: pub, priv: priv, con: con}
}

func (r *repo) head(t *testing.T) string { return gitRun(t, r.dir, "rev-parse", "HEAD") }

// assertUntouched checks the adversarial-cycle invariants: HEAD is base,
// the operator's tree is clean and no worktree is left.
func (r *repo) assertUntouched(t *testing.T, base string) {
	t.Helper()
	require.Equal(t, base, r.head(t), "HEAD moved")
	require.Equal(t, "", gitRun(t, r.dir, "status", "--porcelain"), "git status is not clean")
	wt := gitRun(t, r.dir, "worktree", "list", "--porcelain")
	require.Equal(t, 1, strings.Count(wt, "worktree "), "a worktree was left behind:\n%s", wt)
	ents, _ := os.ReadDir(filepath.Join(r.dir, ".nomic", "worktrees"))
	for _, e := range ents {
		require.False(t, e.IsDir(), "worktree directory %s left", e.Name())
	}
	require.NotContains(t, gitRun(t, r.dir, "branch", "--list"), "nomic/", "a failed cycle left its branch")
}

// scripted answers the loop's design and implement calls with fixed
// replies and delegates debate calls to a demo agent.
type scripted struct {
	mu        sync.Mutex
	design    string
	implement func(prompt string) string
	inner     agent.Agent
	calls     map[agent.Phase]int
	before    func(ctx context.Context, req agent.Request) // called on each design/implement call
}

func (s *scripted) Respond(ctx context.Context, req agent.Request) (agent.Response, error) {
	s.mu.Lock()
	if s.calls == nil {
		s.calls = map[agent.Phase]int{}
	}
	s.calls[req.Phase]++
	before := s.before
	s.mu.Unlock()
	switch req.Phase {
	case nomic.AgentPhaseDesign:
		if before != nil {
			before(ctx, req)
		}
		return agent.Response{Text: s.design}, nil
	case nomic.AgentPhaseImplement:
		if before != nil {
			before(ctx, req)
		}
		return agent.Response{Text: s.implement(req.Prompt)}, nil
	}
	return s.inner.Respond(ctx, req)
}

func (s *scripted) count(p agent.Phase) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[p]
}

// participants returns three debaters; the first answers design and
// implement with s.
func participants(s *scripted) []debate.Participant {
	s.inner = demo.New("demo-analyst", demo.StyleSupportive, 7)
	return []debate.Participant{
		{Name: "planner", Agent: s},
		{Name: "demo-critic", Agent: demo.New("demo-critic", demo.StyleCritical, 7)},
		{Name: "demo-judge", Agent: demo.New("demo-judge", demo.StyleBalanced, 7)},
	}
}

func fileReply(files ...string) func(string) string {
	return func(string) string {
		var b strings.Builder
		for i := 0; i+1 < len(files); i += 2 {
			b.WriteString("=== FILE: " + files[i] + " ===\n" + files[i+1] + "=== END FILE ===\n")
		}
		return b.String()
	}
}

func designOf(files ...string) string {
	return `{"files":["` + strings.Join(files, `","`) + `"],"approach":"test approach"}`
}

// newLoop builds a loop over r with s as the planner.
func newLoop(t *testing.T, r *repo, s *scripted, mutate func(*nomic.Config)) (*nomic.Loop, *memstore.Store) {
	t.Helper()
	st := memstore.New()
	cfg := nomic.Config{Path: r.dir, Participants: participants(s), Store: st, PublicKey: r.pub, Auto: true, AutoCommit: true,
		DebateRounds: 1, Backoff: time.Millisecond, Sleep: func(context.Context, time.Duration) error { return nil }}
	if mutate != nil {
		mutate(&cfg)
	}
	l, err := nomic.New(cfg)
	require.NoError(t, err)
	return l, st
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

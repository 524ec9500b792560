package nomic

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// CheckResult is one verify check.
type CheckResult struct {
	Name     string        `json:"name"`
	Passed   bool          `json:"passed"`
	Detail   string        `json:"detail,omitempty"`
	Duration time.Duration `json:"duration_ns"`
	TimedOut bool          `json:"timed_out,omitempty"`
}

// Report is the outcome of verifying a change.
type Report struct {
	Passed bool          `json:"passed"`
	Checks []CheckResult `json:"checks"`
	// Type classifies the first failure (an error_type of
	// aragora_nomic_errors_total): protected_file, test_removed, limits,
	// build_failure, test_failure, timeout.
	Type string `json:"type,omitempty"`
}

// Reason is the first failed check's name and detail ("" when passed).
func (r *Report) Reason() string {
	for _, c := range r.Checks {
		if !c.Passed {
			return c.Name + ": " + firstLines(c.Detail, 3)
		}
	}
	return ""
}

// Summary is one line per check.
func (r *Report) Summary() string {
	var b strings.Builder
	for _, c := range r.Checks {
		mark := "PASS"
		if !c.Passed {
			mark = "FAIL"
		}
		fmt.Fprintf(&b, "[%s] %s (%.1fs)", mark, c.Name, c.Duration.Seconds())
		if !c.Passed && c.Detail != "" {
			fmt.Fprintf(&b, ": %s", firstLines(c.Detail, 3))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = append(lines[:n], "…")
	}
	return strings.Join(lines, " | ")
}

// Verifier checks a change applied in a worktree. Tests inject their own;
// the loop's default is [Checker].
type Verifier interface {
	Verify(ctx context.Context, in VerifyInput) (*Report, error)
}

// VerifyInput is what a verifier gets: the worktree, the constitution, the
// test counts before the change and the change's stats.
type VerifyInput struct {
	Dir          string
	Constitution *Constitution
	Before       TestCount
	Stats        ChangeStats
	// Output, when set, receives the commands' output as they run.
	Output func(name, chunk string)
}

// ChangeStats describes a change as git sees it in the worktree.
type ChangeStats struct {
	Files []string `json:"files"`
	Added int      `json:"added"`
	Del   int      `json:"deleted"`
}

// Checker is the default verifier: protected-file checksums, no test
// removed, the constitution's limits, then every verify command.
type Checker struct {
	// Env is the environment of the commands; nil means the scrubbed
	// environment of this process (ScrubEnv(os.Environ())).
	Env []string
	// DefaultTimeout applies to commands without one; 0 means 240 s.
	DefaultTimeout time.Duration
}

// Verify implements Verifier.
func (c Checker) Verify(ctx context.Context, in VerifyInput) (*Report, error) {
	r := &Report{Passed: true}
	fail := func(name, typ, detail string) {
		r.Checks = append(r.Checks, CheckResult{Name: name, Detail: detail})
		if r.Passed {
			r.Passed, r.Type = false, typ
		}
	}
	con := in.Constitution
	// Protected files: nothing the change touches is protected, and every
	// checksum still matches.
	var touched []string
	for _, f := range in.Stats.Files {
		if con.IsProtected(f) {
			touched = append(touched, f)
		}
	}
	bad := con.CheckChecksums(in.Dir)
	if len(touched) > 0 || len(bad) > 0 {
		fail("protected files", "protected_file", fmt.Sprintf("the change edits protected files: %s", strings.Join(append(touched, bad...), ", ")))
	} else {
		r.Checks = append(r.Checks, CheckResult{Name: "protected files", Passed: true})
	}
	after, err := CountTests(in.Dir)
	if err != nil {
		return nil, err
	}
	if after.Files < in.Before.Files || after.Funcs < in.Before.Funcs {
		fail("tests kept", "test_removed", fmt.Sprintf("test files %d -> %d, test functions %d -> %d", in.Before.Files, after.Files, in.Before.Funcs, after.Funcs))
	} else {
		r.Checks = append(r.Checks, CheckResult{Name: "tests kept", Passed: true, Detail: fmt.Sprintf("%d test files, %d test functions", after.Files, after.Funcs)})
	}
	lim := con.Limits
	if lim.MaxFiles <= 0 {
		lim.MaxFiles = DefaultMaxFiles
	}
	if lim.MaxLines <= 0 {
		lim.MaxLines = DefaultMaxLines
	}
	if n, l := len(in.Stats.Files), in.Stats.Added+in.Stats.Del; n > lim.MaxFiles || l > lim.MaxLines || n == 0 {
		fail("limits", "limits", fmt.Sprintf("%d files (max %d), %d lines (max %d)", n, lim.MaxFiles, l, lim.MaxLines))
	} else {
		r.Checks = append(r.Checks, CheckResult{Name: "limits", Passed: true, Detail: fmt.Sprintf("%d files, %d lines", n, l)})
	}
	if !r.Passed {
		return r, nil // never run code that broke a rule
	}
	env := c.Env
	if env == nil {
		env = ScrubEnv(os.Environ())
	}
	for _, cmd := range con.Verify {
		timeout := time.Duration(cmd.TimeoutSeconds) * time.Second
		if timeout <= 0 {
			timeout = c.DefaultTimeout
		}
		if timeout <= 0 {
			timeout = DefaultVerifyTimeout * time.Second
		}
		res := RunCommand(ctx, in.Dir, env, cmd, timeout, in.Output)
		r.Checks = append(r.Checks, res)
		if err := ctx.Err(); err != nil {
			return nil, context.Cause(ctx)
		}
		if !res.Passed {
			typ := "test_failure"
			switch {
			case res.TimedOut:
				typ = "timeout"
			case cmd.Name == "build" || cmd.Name == "vet" || cmd.Name == "syntax" || cmd.Name == "imports":
				typ = "build_failure"
			}
			r.Passed, r.Type = false, typ
			return r, nil
		}
	}
	return r, nil
}

// RunCommand runs cmd in dir with env, in its own process group; at the
// timeout (or when ctx ends) the whole group is killed.
func RunCommand(ctx context.Context, dir string, env []string, cmd Command, timeout time.Duration, output func(name, chunk string)) CheckResult {
	res := CheckResult{Name: cmd.Name}
	if len(cmd.Argv) == 0 {
		res.Detail = "empty command"
		return res
	}
	var out lockedBuffer
	out.name, out.fn = cmd.Name, output
	c := exec.Command(cmd.Argv[0], cmd.Argv[1:]...)
	c.Dir, c.Env = dir, env
	c.Stdout, c.Stderr = &out, &out
	c.SysProcAttr = sysProcAttr()
	start := time.Now()
	if err := c.Start(); err != nil {
		res.Detail = err.Error()
		return res
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var err error
	select {
	case err = <-done:
	case <-timer.C:
		res.TimedOut = true
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		err = <-done
	case <-ctx.Done():
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		err = <-done
	}
	// Children that outlived the leader die with the group too.
	_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
	res.Duration = time.Since(start)
	res.Detail = tail(out.String(), 4000)
	switch {
	case res.TimedOut:
		res.Detail = fmt.Sprintf("killed after %s (timeout)\n%s", timeout, res.Detail)
	case err != nil:
		res.Detail = fmt.Sprintf("%s: %v\n%s", strings.Join(cmd.Argv, " "), err, res.Detail)
	default:
		res.Passed = true
	}
	return res
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

type lockedBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	name string
	fn   func(name, chunk string)
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fn != nil {
		b.fn(b.name, string(p))
	}
	if b.buf.Len() < 1<<20 {
		b.buf.Write(p)
	}
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestCount counts a repository's test files and test functions (Go and
// Python).
type TestCount struct {
	Files int `json:"files"`
	Funcs int `json:"funcs"`
}

var (
	goTestFuncRE = regexp.MustCompile(`(?m)^func (Test|Benchmark|Fuzz|Example)\w*\(`)
	pyTestFuncRE = regexp.MustCompile(`(?m)^\s*(async\s+)?def test\w*\(`)
)

// CountTests counts the test files and functions under root (.git/ and
// .nomic/ excluded).
func CountTests(root string) (TestCount, error) {
	var n TestCount
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); p != root && (name == ".git" || name == ".nomic" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		name := d.Name()
		var re *regexp.Regexp
		switch {
		case strings.HasSuffix(name, "_test.go"):
			re = goTestFuncRE
		case strings.HasSuffix(name, ".py") && (strings.HasPrefix(name, "test_") || strings.HasSuffix(name, "_test.py")):
			re = pyTestFuncRE
		default:
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n.Files++
		n.Funcs += len(re.FindAll(b, -1))
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("nomic: count tests: %w", err)
	}
	return n, nil
}

// changeStats stages everything in the worktree and returns what changed
// against HEAD. Symlinks and submodules in the change are refused.
func changeStats(ctx context.Context, dir string) (ChangeStats, error) {
	var st ChangeStats
	if _, err := git(ctx, dir, "add", "-A"); err != nil {
		return st, err
	}
	out, err := git(ctx, dir, "diff", "--cached", "--numstat", "--no-renames", "HEAD")
	if err != nil {
		return st, err
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.SplitN(l, "\t", 3)
		if len(f) != 3 {
			continue
		}
		if f[0] == "-" {
			return st, badChange("%s is binary", f[2])
		}
		a, _ := strconv.Atoi(f[0])
		d, _ := strconv.Atoi(f[1])
		st.Added += a
		st.Del += d
		if err := CheckPath(f[2]); err != nil {
			return st, err
		}
		st.Files = append(st.Files, f[2])
	}
	modes, err := git(ctx, dir, "diff", "--cached", "--raw", "--no-renames", "HEAD")
	if err != nil {
		return st, err
	}
	for _, l := range strings.Split(modes, "\n") {
		if f := strings.Fields(l); len(f) >= 2 && (f[1] == "120000" || f[1] == "160000") {
			return st, badChange("the change creates a symlink or submodule: %s", l)
		}
	}
	return st, nil
}

package validate

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// repoRoot is the repository this module sits in (deploy/validate).
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller information")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// requirePostgres returns ARAGORA_TEST_POSTGRES_URL: unset, it fails t on
// CI and skips it elsewhere, like requireTool.
func requirePostgres(t testing.TB) string {
	t.Helper()
	pgURL := os.Getenv("ARAGORA_TEST_POSTGRES_URL")
	if pgURL == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("ARAGORA_TEST_POSTGRES_URL is unset: CI must set it")
		}
		t.Skip("ARAGORA_TEST_POSTGRES_URL is unset (postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	return pgURL
}

// requireTool returns the path of a command-line tool. Where it is missing
// the test fails in CI (which installs it) and skips elsewhere, naming
// what to install.
func requireTool(t testing.TB, name, hint string) string {
	t.Helper()
	if env := os.Getenv("ARAGORA_" + toEnv(name)); env != "" {
		return env
	}
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found: CI must install it (%s)", name, hint)
	}
	t.Skipf("%s not found: %s (CI installs it and fails without it)", name, hint)
	return ""
}

func toEnv(name string) string {
	b := []byte(name)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		case c == '-':
			b[i] = '_'
		}
	}
	return string(b)
}

// run runs a command with a deadline and returns its combined output.
func run(t testing.TB, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustRun(t testing.TB, dir string, env []string, name string, args ...string) string {
	t.Helper()
	out, err := run(t, dir, env, name, args...)
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return out
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binOut  []byte
)

// aragoraBinary builds cmd/aragora once per test process.
func aragoraBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "aragora-deploy-validate-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "aragora")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/aragora")
		cmd.Dir = repoRoot(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		binOut, binErr = cmd.CombinedOutput()
	})
	if binErr != nil {
		t.Fatalf("go build ./cmd/aragora: %v\n%s", binErr, binOut)
	}
	return binPath
}

// lockedBuffer collects a subprocess's output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

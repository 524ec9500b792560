package main

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/examples/provider"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestCustomBinaryDebate builds this main and runs `debate --agents` with
// Acme agents against a fake Acme API (offline), then checks that a
// variable-less run is refused the way the built-in providers are.
func TestCustomBinaryDebate(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "custom-aragora")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	acme := httptest.NewServer(provider.Fake{Key: "acme-key"})
	defer acme.Close()

	debate := []string{"debate", "Should we adopt Postgres?", "--no-store", "--agents", "acme,acme:large,demo-critic",
		"--rounds", "1", "--format", "json"}
	cmd := exec.Command(bin, debate...)
	cmd.Env = append(os.Environ(), "ACME_API_KEY=acme-key", "ACME_BASE_URL="+acme.URL)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	require.NoError(t, err, "stderr: %s", stderr.String())
	var res struct {
		Debate map[string]any `json:"debate"`
	}
	require.NoError(t, json.Unmarshal(stdout, &res), "stdout: %s", stdout)
	assert.Equal(t, []any{"acme", "acme-large", "demo-critic"}, res.Debate["agents"])

	// Without its key an acme agent is refused up front: exit 2 (usage),
	// naming the variable, as for a built-in provider.
	cmd = exec.Command(bin, debate...)
	cmd.Env = withoutVar(os.Environ(), "ACME_API_KEY")
	combined, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "output: %s", combined)
	assert.Equal(t, 2, exit.ExitCode())
	assert.Contains(t, string(combined), "set ACME_API_KEY")
}

// withoutVar returns env without the variable name.
func withoutVar(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

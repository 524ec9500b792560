package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDebateOnServer runs `aragora debate --server URL` against the real
// binary: the debate is created through the API with the service token,
// followed over the WebSocket stream, and its outcome and receipt printed.
func TestDebateOnServer(t *testing.T) {
	t.Parallel()
	const token = "remote-test-service-token-0123456789abcdef"
	p := startServer(t, t.TempDir(), map[string]string{"ARAGORA_API_TOKEN": token, "ARAGORA_DEMO_DELAY_MS": "20"}, nil)
	vars := map[string]string{"ARAGORA_TOKEN": token}

	text := runCLI(t, context.Background(), vars, "debate", "Should billing move to Postgres?", "--server", p.apiURL,
		"--agents", "demo-analyst,demo-critic,demo-judge", "--rounds", "2", "--consensus", "majority")
	require.Equal(t, exitOK, text.code, text.stderr)
	for _, want := range []string{"on " + p.apiURL, "demo-analyst · proposal:", "critique of", "· vote:", "Verdict:", "# Decision Receipt DR-"} {
		assert.Contains(t, text.stdout, want)
	}

	out := filepath.Join(t.TempDir(), "receipt.md")
	js := runCLI(t, context.Background(), vars, "debate", "Ship on Friday?", "--server", p.apiURL, "--format", "json", "--receipt-out", out)
	require.Equal(t, exitOK, js.code, js.stderr)
	var doc struct {
		Debate struct {
			ID     string `json:"id"`
			Status string `json:"status"`
			Owner  string `json:"owner"`
		} `json:"debate"`
		Receipt struct {
			DebateID    string `json:"debate_id"`
			ContentHash string `json:"content_hash"`
		} `json:"receipt"`
	}
	require.NoError(t, json.Unmarshal([]byte(js.stdout), &doc))
	assert.Equal(t, doc.Debate.ID, doc.Receipt.DebateID)
	assert.Equal(t, "service", doc.Debate.Owner, "created with the service token")
	assert.Contains(t, []string{"consensus_reached", "no_consensus"}, doc.Debate.Status)
	assert.True(t, strings.HasPrefix(doc.Receipt.ContentHash, "sha256:"))
	md, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Contains(t, string(md), "# Decision Receipt")

	bad := runCLI(t, context.Background(), vars, "debate", "q?", "--server", p.apiURL, "--agents", "no-such-agent,demo-a")
	assert.Equal(t, exitUsage, bad.code, "an unknown agent is refused by the server as a usage error")
	assert.Contains(t, bad.stderr, "unknown_agent")
}

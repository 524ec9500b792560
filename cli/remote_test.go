package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
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

// TestDebateOnServerPrintsTheLocalSummary: `aragora debate --server URL`
// prints the summary a local run prints (verdict, dissent, abstentions,
// receipt id, the Markdown receipt with its dissenting views), read from
// the server's receipt: the same debate run both ways prints the same
// lines but for the receipt's id, hash and times.
func TestDebateOnServerPrintsTheLocalSummary(t *testing.T) {
	t.Parallel()
	const token = "remote-summary-service-token-0123456789abcdef"
	p := startServer(t, t.TempDir(), map[string]string{"ARAGORA_API_TOKEN": token}, nil)
	args := []string{"debate", "Should billing move to Postgres?", "--agents", "demo-a:supportive,demo-b:contrarian,demo-c:critical,demo-d",
		"--rounds", "2", "--consensus", "majority", "--seed", "5"}
	remote := runCLI(t, context.Background(), map[string]string{"ARAGORA_TOKEN": token}, append(args, "--server", p.apiURL)...)
	require.Equal(t, exitOK, remote.code, remote.stderr)
	local := runCLI(t, context.Background(), nil, append(args, "--no-store", "--no-memory")...)
	require.Equal(t, exitOK, local.code, local.stderr)

	summary := func(out string) string {
		i := strings.Index(out, "\nVerdict:")
		require.GreaterOrEqual(t, i, 0, out)
		s := out[i:]
		for _, re := range []*regexp.Regexp{regexp.MustCompile(`DR-\d{8}-[0-9a-f]+`), regexp.MustCompile(`sha256:[0-9a-f]{64}`)} {
			s = re.ReplaceAllString(s, "X")
		}
		return s
	}
	rs, ls := summary(remote.stdout), summary(local.stdout)
	for _, want := range []string{"\nDissent:", "\nReceipt:    X (", "\n## Dissenting views\n", "(on the panel's answer below, not on the question's proposal)"} {
		assert.Contains(t, rs, want)
	}
	assert.Equal(t, ls, rs, "the remote summary is the local one")
}

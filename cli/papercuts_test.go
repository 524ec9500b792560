package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/lifecycle"
)

// TestReceiptOutCheckLeavesNoFile: the check of a writable --receipt-out
// that did not exist leaves no file behind.
func TestReceiptOutCheckLeavesNoFile(t *testing.T) {
	t.Parallel()
	good := filepath.Join(t.TempDir(), "receipt.md")
	assert.NoError(t, checkReceiptOut(good))
	_, err := os.Stat(good)
	assert.True(t, os.IsNotExist(err), "the check leaves no file behind")
}

func TestErrorsArePrefixedOnce(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	printErr(&b, errors.New("aragora: store unreachable"))
	printErr(&b, errors.New("debate: --rounds 0: want 1 to 20"))
	assert.Equal(t, "aragora: store unreachable\naragora: debate: --rounds 0: want 1 to 20\n", b.String())
}

func TestPluralRounds(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "1 round", pluralize(1, "round"))
	assert.Equal(t, "3 rounds", pluralize(3, "round"))
}

// TestDebateHelpStatesServerDefaults: `aragora debate --help` states
// where its defaults differ from a server's, and what it states is what
// the server applies.
func TestDebateHelpStatesServerDefaults(t *testing.T) {
	res := runCLI(t, context.Background(), nil, "debate", "--help")
	require.Equal(t, exitOK, res.code, res.stderr)
	topic, agents := "t", []string{"demo-a", "demo-b"}
	server, err := (&lifecycle.Request{Topic: &topic, Agents: agents}).Normalise(lifecycle.Defaults{})
	require.NoError(t, err)
	assert.Contains(t, res.stdout, "consensus    majority here; "+string(server.Consensus)+" on a server")
	assert.Contains(t, res.stdout, fmt.Sprintf("timeout      none here; ARAGORA_DEBATE_TIMEOUT_SECONDS (%d s) on a server", server.TimeoutSeconds))
	assert.Contains(t, res.stdout, "rounds       1-20 here; 1-12 on a server")
	for rounds, ok := range map[int]bool{12: true, 13: false} {
		_, err := (&lifecycle.Request{Topic: &topic, Agents: agents, Rounds: &rounds}).Normalise(lifecycle.Defaults{})
		assert.Equal(t, ok, err == nil, "a server takes %d rounds: %v", rounds, ok)
	}
	for tokens, ok := range map[int]bool{999: false, 1000: true} {
		_, err := (&lifecycle.Request{Topic: &topic, Agents: agents, MaxTokens: &tokens}).Normalise(lifecycle.Defaults{})
		assert.Equal(t, ok, err == nil, "a server takes max_tokens %d: %v", tokens, ok)
	}
	assert.Contains(t, res.stdout, "max-tokens   0 (unlimited) or any budget here; none or at least 1000 on a server")
	assert.Contains(t, res.stdout, "With --server only the flags given are sent")
	assert.Contains(t, res.stdout, `consensus method: majority, supermajority, unanimous, weighted, judge or none (default "majority")`)
	assert.Contains(t, res.stdout, "rounds to run, 1-20 (default 3)")
}

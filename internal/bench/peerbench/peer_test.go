package peerbench

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestPeerSmoke runs the peer scenario with tiny parameters; the figures
// are meaningless, only the plumbing is checked.
func TestPeerSmoke(t *testing.T) {
	peer, err := Peer(context.Background(), PeerConfig{Agents: 3, Rounds: 1, Concurrent: []int{2}})
	require.NoError(t, err)
	assert.NotEmpty(t, peer)
	for _, r := range peer {
		if r.Metric == "agent calls/debate" {
			assert.Equal(t, 12.0, r.Value, "3 proposals, 6 critiques, 3 votes")
		}
		assert.Positive(t, r.Value, "%s %s %s", r.Scenario, r.Case, r.Metric)
	}
	assert.Equal(t, "process", peer[0].Case, "the first row names the binary")
}

package store_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/store"
)

func TestStatusText(t *testing.T) {
	t.Parallel()
	for _, s := range store.Statuses {
		got, err := store.ParseStatus(s.String())
		require.NoError(t, err)
		assert.Equal(t, s, got)
		b, err := json.Marshal(s)
		require.NoError(t, err)
		assert.Equal(t, `"`+string(s)+`"`, string(b), "the wire form is the bare name")
		var back store.Status
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, s, back)
	}
	_, err := store.ParseStatus("Running")
	assert.EqualError(t, err, `store: debate status "Running" is unknown (want pending, running, consensus_reached, `+
		`no_consensus, timeout, failed, cancelled or budget_exceeded)`)
	var doc struct {
		Status store.Status `json:"status"`
	}
	assert.Error(t, json.Unmarshal([]byte(`{"status":"done"}`), &doc))
	require.NoError(t, json.Unmarshal([]byte(`{}`), &doc))
	assert.Equal(t, store.Status(""), doc.Status, "an absent status is unset")
}

func TestStatusTerminal(t *testing.T) {
	t.Parallel()
	for _, s := range store.Statuses {
		want := s != store.StatusPending && s != store.StatusRunning
		assert.Equal(t, want, s.Terminal(), s)
		assert.Equal(t, want, store.Terminal(s), s)
	}
	assert.Equal(t, store.Statuses[2:], store.TerminalStatuses)
	assert.False(t, store.Status("").Terminal())
	assert.False(t, store.Status("bogus").Terminal())
}

func TestStatusScan(t *testing.T) {
	t.Parallel()
	var s store.Status
	require.NoError(t, s.Scan("running"))
	assert.Equal(t, store.StatusRunning, s)
	require.NoError(t, s.Scan([]byte("failed")))
	assert.Equal(t, store.StatusFailed, s)
	for _, bad := range []any{"bogus", "", nil, 7} {
		assert.Error(t, s.Scan(bad), "%v", bad)
		assert.Equal(t, store.StatusFailed, s, "unchanged on error")
	}
}

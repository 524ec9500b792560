package store_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/aragora/aragora/internal/enum/enumtest"
	"github.com/aragora/aragora/store"
)

func TestStatusText(t *testing.T) {
	t.Parallel()
	enumtest.Check(t, store.Statuses, store.ParseStatus, "Running")
	_, err := store.ParseStatus("Running")
	assert.EqualError(t, err, `store: debate status "Running" is unknown (want pending, running, consensus_reached, `+
		`no_consensus, timeout, failed, cancelled or budget_exceeded)`)
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

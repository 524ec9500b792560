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

func TestNomicCommandStatusText(t *testing.T) {
	t.Parallel()
	enumtest.Check(t, store.NomicCommandStatuses, store.ParseNomicCommandStatus, "done")
	_, err := store.ParseNomicCommandStatus("Applied")
	assert.EqualError(t, err, `store: nomic command status "Applied" is unknown (want pending, applied or rejected)`)
}

func TestNomicCommandKindText(t *testing.T) {
	t.Parallel()
	enumtest.Check(t, store.NomicCommandKinds, store.ParseNomicCommandKind, "explode")
	_, err := store.ParseNomicCommandKind("Pause")
	assert.EqualError(t, err, `store: nomic command kind "Pause" is unknown (want pause, resume, reset or breaker_reset)`)
}

func TestCheckNomicCommand(t *testing.T) {
	t.Parallel()
	assert.NoError(t, store.CheckNomicCommand(store.NomicCommand{ID: "cmd_1", Kind: store.NomicCommandReset}))
	assert.EqualError(t, store.CheckNomicCommand(store.NomicCommand{Kind: store.NomicCommandReset}), "store: nomic command: empty id")
	assert.Error(t, store.CheckNomicCommand(store.NomicCommand{ID: "cmd_1"}))
	for _, s := range []store.NomicCommandStatus{store.NomicCommandApplied, store.NomicCommandRejected} {
		assert.NoError(t, store.CheckNomicAck(s))
	}
	assert.EqualError(t, store.CheckNomicAck(store.NomicCommandPending), `store: nomic command acknowledged as "pending" (want applied or rejected)`)
}

func TestPageSize(t *testing.T) {
	t.Parallel()
	assert.Equal(t, 7, store.PageSize(7))
	assert.Equal(t, store.DefaultLimit, store.PageSize(0))
	assert.Equal(t, store.PageSize(0), store.PageSize(-1))
}

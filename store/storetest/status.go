package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/store"
)

// UnknownStoredStatus checks that a SQL backend rejects a status column
// holding a name that is not a [store.Status] (written by hand, or by a
// newer binary) on every read of the row, instead of returning an odd
// record. s gets debate "d1" (running) with one checkpoint; corrupt must
// then set the status column of the debates and checkpoints tables to
// "paused" behind the store's back.
func UnknownStoredStatus(t *testing.T, s store.DebateStore, corrupt func(ctx context.Context) error) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, s.CreateDebate(ctx, &store.Debate{ID: "d1", Status: store.StatusRunning}))
	require.NoError(t, s.(store.Checkpointer).SaveCheckpoint(ctx, &store.Checkpoint{DebateID: "d1", Phase: "init", Seq: 1,
		Status: store.StatusRunning, Events: []store.Event{{Seq: 1, Type: "debate_start", JSON: []byte(`{"seq":1}`)}}}))
	require.NoError(t, corrupt(ctx))

	const want = `store: debate status "paused" is unknown`
	_, err := s.GetDebate(ctx, "d1")
	require.ErrorContains(t, err, want)
	_, err = s.ListDebates(ctx, store.Filter{})
	require.ErrorContains(t, err, want)
	_, err = s.(store.Checkpointer).LatestCheckpoint(ctx, "d1")
	require.ErrorContains(t, err, want)
	err = s.(store.Leaser).UpdateStatus(ctx, "d1", []store.Status{store.StatusRunning}, store.StatusFailed, time.Now())
	require.ErrorContains(t, err, want)
}

// UnknownStoredNomicCommand checks that a SQL backend rejects a nomic
// command whose stored status or kind is not one of its closed set
// ([store.NomicCommandStatus], [store.NomicCommandKind]) on every read of
// the row. exec runs a statement on s's database behind its back.
func UnknownStoredNomicCommand(t *testing.T, s store.NomicStore, exec func(ctx context.Context, query string) error) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, s.EnqueueNomicCommand(ctx, store.NomicCommand{ID: "cmd_1", Kind: store.NomicCommandPause, CreatedAt: time.Now()}))

	require.NoError(t, exec(ctx, `UPDATE nomic_commands SET status = 'done'`))
	const badStatus = `store: nomic command status "done" is unknown`
	_, err := s.GetNomicCommand(ctx, "cmd_1")
	require.ErrorContains(t, err, badStatus)
	require.ErrorContains(t, s.AckNomicCommand(ctx, "cmd_1", store.NomicCommandApplied, nil, time.Now()), badStatus)

	require.NoError(t, exec(ctx, `UPDATE nomic_commands SET status = 'pending', kind = 'explode'`))
	const badKind = `store: nomic command kind "explode" is unknown`
	_, err = s.GetNomicCommand(ctx, "cmd_1")
	require.ErrorContains(t, err, badKind)
	_, err = s.PendingNomicCommands(ctx)
	require.ErrorContains(t, err, badKind)
}

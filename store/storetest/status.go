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

package storetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/store"
)

var nomicTests = []test{
	{Name: "StateCompareAndSwap", Fn: testNomicStateCAS},
	{Name: "OutcomeAndOutboxInOneWrite", Fn: testNomicOutcome},
	{Name: "Commands", Fn: testNomicCommands},
}

func nomicOf(t *testing.T, s store.DebateStore) store.NomicStore {
	t.Helper()
	n, ok := s.(store.NomicStore)
	require.True(t, ok)
	return n
}

func testNomicStateCAS(t *testing.T, s store.DebateStore) {
	n, ctx := nomicOf(t, s), ctxT(t)
	_, err := n.LoadNomicState(ctx)
	require.ErrorIs(t, err, store.ErrNotFound)

	_, err = n.SaveNomicState(ctx, 1, store.NomicWrite{Doc: json.RawMessage(`{"a":1}`), UpdatedAt: base})
	require.ErrorIs(t, err, store.ErrConflict, "no state yet: only version 0 is current")
	v, err := n.SaveNomicState(ctx, 0, store.NomicWrite{Doc: json.RawMessage(`{"a":1}`), UpdatedAt: base})
	require.NoError(t, err)
	assert.Equal(t, int64(1), v)
	_, err = n.SaveNomicState(ctx, 0, store.NomicWrite{Doc: json.RawMessage(`{"a":9}`), UpdatedAt: base})
	require.ErrorIs(t, err, store.ErrConflict, "a stale version is refused")
	v, err = n.SaveNomicState(ctx, 1, store.NomicWrite{Doc: json.RawMessage(`{"a":2}`), UpdatedAt: base.Add(1500)})
	require.NoError(t, err)
	assert.Equal(t, int64(2), v)

	st, err := n.LoadNomicState(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(2), st.Version)
	assert.JSONEq(t, `{"a":2}`, string(st.Doc))
	assertTime(t, base.Add(1500), st.UpdatedAt, "UpdatedAt")
}

func testNomicOutcome(t *testing.T, s store.DebateStore) {
	n, ctx := nomicOf(t, s), ctxT(t)
	mk := func(i int) *store.NomicOutcome {
		return &store.NomicOutcome{CycleID: fmt.Sprintf("c_%d", i), Number: i, Outcome: "success", Committed: i%2 == 0,
			Reason: "r", StartedAt: base, FinishedAt: base.Add(timeSec(i)), Doc: json.RawMessage(`{"n":1}`)}
	}
	msg := func(id string) store.OutboxMessage {
		return store.OutboxMessage{ID: id, Type: "nomic.cycle_finished", Payload: json.RawMessage(`{"type":"nomic.cycle_finished"}`), CreatedAt: base}
	}
	v, err := n.SaveNomicState(ctx, 0, store.NomicWrite{Doc: json.RawMessage(`{}`), UpdatedAt: base, Outcome: mk(1), Outbox: []store.OutboxMessage{msg("msg_1")}})
	require.NoError(t, err)
	v, err = n.SaveNomicState(ctx, v, store.NomicWrite{Doc: json.RawMessage(`{}`), UpdatedAt: base, Outcome: mk(2)})
	require.NoError(t, err)

	// A duplicate cycle id or message id writes nothing, state included.
	_, err = n.SaveNomicState(ctx, v, store.NomicWrite{Doc: json.RawMessage(`{"x":1}`), UpdatedAt: base, Outcome: mk(2)})
	require.ErrorIs(t, err, store.ErrConflict)
	_, err = n.SaveNomicState(ctx, v, store.NomicWrite{Doc: json.RawMessage(`{"x":1}`), UpdatedAt: base, Outcome: mk(3), Outbox: []store.OutboxMessage{msg("msg_1")}})
	require.ErrorIs(t, err, store.ErrConflict)
	st, err := n.LoadNomicState(ctx)
	require.NoError(t, err)
	assert.Equal(t, v, st.Version)
	assert.JSONEq(t, `{}`, string(st.Doc))

	got, err := n.ListNomicOutcomes(ctx, 0)
	require.NoError(t, err)
	require.Len(t, got, 2, "the refused write stored no outcome")
	assert.Equal(t, "c_2", got[0].CycleID, "newest first")
	assert.Equal(t, 2, got[0].Number)
	assert.True(t, got[0].Committed)
	assert.False(t, got[1].Committed)
	assert.Equal(t, "success", got[1].Outcome)
	assert.Equal(t, "r", got[1].Reason)
	assertTime(t, base, got[1].StartedAt, "StartedAt")
	assertTime(t, base.Add(timeSec(1)), got[1].FinishedAt, "FinishedAt")
	assert.JSONEq(t, `{"n":1}`, string(got[1].Doc))
	one, err := n.ListNomicOutcomes(ctx, 1)
	require.NoError(t, err)
	assert.Len(t, one, 1)
}

func testNomicCommands(t *testing.T, s store.DebateStore) {
	n, ctx := nomicOf(t, s), ctxT(t)
	require.NoError(t, n.EnqueueNomicCommand(ctx, store.NomicCommand{ID: "cmd_b", Kind: "pause", Args: json.RawMessage(`{"reason":"x"}`), CreatedAt: base.Add(timeSec(1))}))
	require.NoError(t, n.EnqueueNomicCommand(ctx, store.NomicCommand{ID: "cmd_a", Kind: "resume", CreatedAt: base}))
	require.ErrorIs(t, n.EnqueueNomicCommand(ctx, store.NomicCommand{ID: "cmd_a", Kind: "resume", CreatedAt: base}), store.ErrConflict)

	p, err := n.PendingNomicCommands(ctx)
	require.NoError(t, err)
	require.Len(t, p, 2)
	assert.Equal(t, []string{"cmd_a", "cmd_b"}, []string{p[0].ID, p[1].ID}, "oldest first")
	assert.Equal(t, store.NomicCommandPending, p[1].Status)
	assert.JSONEq(t, `{"reason":"x"}`, string(p[1].Args))
	assertTime(t, base.Add(timeSec(1)), p[1].CreatedAt, "CreatedAt")

	require.NoError(t, n.AckNomicCommand(ctx, "cmd_b", store.NomicCommandApplied, json.RawMessage(`{"ok":true}`), base.Add(timeSec(2))))
	require.ErrorIs(t, n.AckNomicCommand(ctx, "cmd_b", store.NomicCommandRejected, nil, base), store.ErrConflict)
	require.ErrorIs(t, n.AckNomicCommand(ctx, "cmd_zz", store.NomicCommandApplied, nil, base), store.ErrNotFound)
	// Closed sets: an unknown kind is not stored, and an acknowledgement is
	// applied or rejected.
	err = n.EnqueueNomicCommand(ctx, store.NomicCommand{ID: "cmd_x", Kind: "explode", CreatedAt: base})
	require.ErrorContains(t, err, `store: nomic command kind "explode" is unknown`)
	_, err = n.GetNomicCommand(ctx, "cmd_x")
	require.ErrorIs(t, err, store.ErrNotFound, "nothing stored")
	for _, st := range []store.NomicCommandStatus{store.NomicCommandPending, "done", ""} {
		require.Error(t, n.AckNomicCommand(ctx, "cmd_a", st, nil, base), "%q", st)
	}

	c, err := n.GetNomicCommand(ctx, "cmd_b")
	require.NoError(t, err)
	assert.Equal(t, store.NomicCommandApplied, c.Status)
	assert.Equal(t, store.NomicCommandPause, c.Kind)
	assert.JSONEq(t, `{"ok":true}`, string(c.Result))
	assertTime(t, base.Add(timeSec(2)), c.AckedAt, "AckedAt")
	_, err = n.GetNomicCommand(ctx, "cmd_zz")
	require.ErrorIs(t, err, store.ErrNotFound)

	p, err = n.PendingNomicCommands(ctx)
	require.NoError(t, err)
	require.Len(t, p, 1)
	assert.Equal(t, "cmd_a", p[0].ID)
	assert.True(t, p[0].AckedAt.IsZero())
}

func timeSec(n int) time.Duration { return time.Duration(n) * time.Second }

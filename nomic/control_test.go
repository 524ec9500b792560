package nomic_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/nomic"
)

// TestControlReachesTheRunningLoop pauses, resumes, resets and resets the
// breakers of a loop blocked in its design phase, through nomic.Control
// on the same store, as the server does from another process.
func TestControlReachesTheRunningLoop(t *testing.T) {
	r := newRepo(t, []nomic.Command{{Name: "true", Argv: []string{"true"}}})
	inDesign, release := make(chan struct{}), make(chan struct{})
	var designs atomic.Int32
	s := &scripted{design: designOf("NOTES.md"), implement: fileReply("NOTES.md", "n\n")}
	s.before = func(ctx context.Context, req agent.Request) {
		if req.Phase == nomic.AgentPhaseDesign && designs.Add(1) == 1 {
			close(inDesign)
			select {
			case <-release:
			case <-ctx.Done(): // the reset aborts the call
			}
		}
	}
	l, st := newLoop(t, r, s, func(c *nomic.Config) {
		c.CommandInterval, c.HeartbeatInterval = 5*time.Millisecond, 20*time.Millisecond
	})
	ctl := &nomic.Control{Store: st, PollInterval: 5 * time.Millisecond, AckTimeout: time.Minute}
	ctx := ctxT(t)

	// Before any loop: idle everywhere, commands refused.
	m, err := ctl.Metrics(ctx)
	require.NoError(t, err)
	assert.Equal(t, "not_running", m.Status)
	_, err = ctl.Pause(ctx, "x", "op")
	require.ErrorIs(t, err, nomic.ErrInvalidState)

	done := make(chan []nomic.Outcome, 1)
	go func() {
		outs, err := l.Run(ctx, 1)
		assert.NoError(t, err)
		done <- outs
	}()
	<-inDesign

	status, err := ctl.Status(ctx)
	require.NoError(t, err)
	assert.True(t, status.Running)
	assert.Equal(t, "running", status.State)
	assert.Equal(t, nomic.PhaseDesign, status.Phase)
	m, err = ctl.Metrics(ctx)
	require.NoError(t, err)
	assert.Equal(t, "healthy", m.Status)
	assert.Equal(t, 1, m.Summary.CyclesInProgress)

	res, err := ctl.Pause(ctx, "Manual investigation", "admin@example.com")
	require.NoError(t, err)
	require.False(t, res.Pending)
	var paused nomic.Status
	require.NoError(t, json.Unmarshal(res.Doc, &paused))
	assert.Equal(t, "paused", paused.State)
	require.NotNil(t, paused.Paused)
	assert.Equal(t, "Manual investigation", paused.Paused.Reason)
	raw, _, err := ctl.State(ctx)
	require.NoError(t, err)
	assert.Equal(t, 7, raw.CurrentPhaseCode(time.Now()), "paused is phase code 7")
	_, err = ctl.Pause(ctx, "again", "op")
	require.ErrorIs(t, err, nomic.ErrInvalidState)

	res, err = ctl.Resume(ctx, "", "op")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(res.Doc, &paused))
	assert.Equal(t, "running", paused.State)

	res, err = ctl.Reset(ctx, nomic.PhaseContext, true, "Manual recovery", "op")
	require.NoError(t, err)
	var reset nomic.ResetResult
	require.NoError(t, json.Unmarshal(res.Doc, &reset))
	assert.Equal(t, "loop", reset.Applied)
	assert.Equal(t, nomic.PhaseDesign, reset.PreviousPhase)
	assert.Equal(t, nomic.PhaseContext, reset.NewPhase)
	require.NotNil(t, reset.CycleID)

	res, err = ctl.ResetBreakers(ctx, "op")
	require.NoError(t, err)
	var br nomic.BreakerResetResult
	require.NoError(t, json.Unmarshal(res.Doc, &br))
	assert.Equal(t, []string{}, br.PreviouslyOpen)

	outs := <-done
	require.Len(t, outs, 1)
	assert.True(t, outs[0].Committed, outs[0].Reason)
	assert.Equal(t, *reset.CycleID, outs[0].CycleID, "the same cycle restarted")
	assert.Equal(t, int32(2), designs.Load(), "design ran again after the reset")

	final, _, err := ctl.State(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(1), final.Counters.Transitions["design->context"])
	assert.Equal(t, int64(1), final.Counters.Recovery["restart"])
	assert.Equal(t, int64(1), final.Counters.Recovery["pause"])
	assert.Empty(t, final.Errors, "clear_errors emptied the list")
	close(release)

	// With the loop gone: a reset rewrites the checkpoint.
	res, err = ctl.Reset(ctx, nomic.PhaseIdle, false, "x", "op")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(res.Doc, &reset))
	assert.Equal(t, "checkpoint", reset.Applied)
}

// TestResetCheckpointWithoutALoop: reset to a phase with no live loop
// rewrites the checkpoint; the next run resumes the cycle there.
func TestResetCheckpointWithoutALoop(t *testing.T) {
	r := newRepo(t, []nomic.Command{{Name: "true", Argv: []string{"true"}}})
	s := &scripted{design: designOf("NOTES.md"), implement: fileReply("NOTES.md", "n\n")}
	cancelled := false
	var cancel context.CancelFunc
	s.before = func(_ context.Context, req agent.Request) {
		if req.Phase == nomic.AgentPhaseImplement && !cancelled {
			cancelled = true
			cancel() // the loop stops mid-implement, keeping its checkpoint
		}
	}
	l, st := newLoop(t, r, s, nil)
	ctx, c := context.WithCancel(ctxT(t))
	cancel = c
	_, err := l.Run(ctx, 1)
	require.ErrorIs(t, err, context.Canceled)

	ctl := &nomic.Control{Store: st}
	res, err := ctl.Reset(ctxT(t), nomic.PhaseDesign, false, "redo the design", "op")
	require.NoError(t, err)
	var reset nomic.ResetResult
	require.NoError(t, json.Unmarshal(res.Doc, &reset))
	assert.Equal(t, "checkpoint", reset.Applied)
	assert.Equal(t, nomic.PhaseImplement, reset.PreviousPhase)

	l2, err := nomic.New(nomic.Config{Path: r.dir, Participants: participants(s), Store: st, PublicKey: r.pub, Auto: true, AutoCommit: true, DebateRounds: 1})
	require.NoError(t, err)
	designsBefore := s.count(nomic.AgentPhaseDesign)
	outs, err := l2.Run(ctxT(t), 1)
	require.NoError(t, err)
	assert.True(t, outs[0].Committed, outs[0].Reason)
	assert.Equal(t, designsBefore+1, s.count(nomic.AgentPhaseDesign), "the next run started at design")
}

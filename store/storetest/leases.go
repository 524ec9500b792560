package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/store"
)

var leaseTests = []test{
	{"ClaimHeartbeatRelease", testClaimHeartbeatRelease},
	{"ClaimErrors", testClaimErrors},
	{"OneClaimerWins", testOneClaimerWins},
	{"HeartbeatLostOnStatusChange", testHeartbeatLost},
	{"UpdateStatus", testUpdateStatus},
	{"SetResult", testSetResult},
	{"FindOrphansAndStale", testFindOrphansAndStale},
	{"SingleDebateEnd", testSingleDebateEnd},
}

func leaser(s store.DebateStore) store.Leaser { return s.(store.Leaser) }

const ttl = 30 * time.Second

func testClaimHeartbeatRelease(t *testing.T, s store.DebateStore) {
	l := leaser(s)
	mustCreate(t, s, newDebate("d1", base))
	t1 := base.Add(time.Second)
	d, err := l.ClaimDebate(ctxT(t), "d1", "replica-a", t1, ttl)
	require.NoError(t, err)
	assert.Equal(t, "d1", d.ID)
	assertTime(t, t1, d.UpdatedAt, "UpdatedAt after claim")
	// Claiming again by the holder renews.
	_, err = l.ClaimDebate(ctxT(t), "d1", "replica-a", t1.Add(time.Second), ttl)
	require.NoError(t, err)
	require.NoError(t, l.UpdateStatus(ctxT(t), "d1", []string{store.StatusPending}, store.StatusRunning, t1.Add(2*time.Second)))

	t2 := t1.Add(10 * time.Second)
	require.NoError(t, l.Heartbeat(ctxT(t), "d1", "replica-a", t2, ttl))
	got, err := s.GetDebate(ctxT(t), "d1")
	require.NoError(t, err)
	assertTime(t, t2, got.UpdatedAt, "UpdatedAt is the heartbeat")
	assertTime(t, t1.Add(2*time.Second), got.StartedAt, "StartedAt")

	// Another replica cannot heartbeat, release or claim while the lease is valid.
	require.ErrorIs(t, l.Heartbeat(ctxT(t), "d1", "replica-b", t2, ttl), store.ErrConflict)
	require.ErrorIs(t, l.ReleaseDebate(ctxT(t), "d1", "replica-b", store.StatusPending, t2), store.ErrConflict)
	_, err = l.ClaimDebate(ctxT(t), "d1", "replica-b", t2.Add(ttl-time.Microsecond), ttl)
	require.ErrorIs(t, err, store.ErrConflict)
	orphans, err := l.FindOrphans(ctxT(t), t2.Add(ttl-time.Microsecond), 0)
	require.NoError(t, err)
	assert.Empty(t, ids(orphans))

	// Graceful shutdown: back to pending, lease released, at once an orphan.
	t3 := t2.Add(time.Second)
	require.NoError(t, l.ReleaseDebate(ctxT(t), "d1", "replica-a", store.StatusPending, t3))
	got, err = s.GetDebate(ctxT(t), "d1")
	require.NoError(t, err)
	assert.Equal(t, store.StatusPending, got.Status)
	assertTime(t, t3, got.UpdatedAt, "UpdatedAt after release")
	orphans, err = l.FindOrphans(ctxT(t), t3, 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"d1"}, ids(orphans))
	require.ErrorIs(t, l.Heartbeat(ctxT(t), "d1", "replica-a", t3, ttl), store.ErrConflict, "released lease")
	_, err = l.ClaimDebate(ctxT(t), "d1", "replica-b", t3, ttl)
	require.NoError(t, err)
}

func testClaimErrors(t *testing.T, s store.DebateStore) {
	l := leaser(s)
	_, err := l.ClaimDebate(ctxT(t), "missing", "r", base, ttl)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, l.Heartbeat(ctxT(t), "missing", "r", base, ttl), store.ErrNotFound)
	require.ErrorIs(t, l.ReleaseDebate(ctxT(t), "missing", "r", "", base), store.ErrNotFound)
	require.ErrorIs(t, l.UpdateStatus(ctxT(t), "missing", nil, store.StatusRunning, base), store.ErrNotFound)
	require.ErrorIs(t, l.SetResult(ctxT(t), "missing", json.RawMessage(`{}`), base), store.ErrNotFound)

	d := newDebate("done", base)
	d.Status = store.StatusFailed
	mustCreate(t, s, d)
	_, err = l.ClaimDebate(ctxT(t), "done", "r", base, ttl)
	require.ErrorIs(t, err, store.ErrConflict, "terminal debates are never claimed")

	// Heartbeat needs status running.
	mustCreate(t, s, newDebate("pending", base))
	_, err = l.ClaimDebate(ctxT(t), "pending", "r", base, ttl)
	require.NoError(t, err)
	require.ErrorIs(t, l.Heartbeat(ctxT(t), "pending", "r", base, ttl), store.ErrConflict)
}

func testOneClaimerWins(t *testing.T, s store.DebateStore) {
	l := leaser(s)
	d := newDebate("d1", base)
	d.Status = store.StatusRunning
	mustCreate(t, s, d)
	_, err := l.ClaimDebate(ctxT(t), "d1", "crashed", base, ttl)
	require.NoError(t, err)
	// The crashed replica's lease has expired; replicas race for it.
	now := base.Add(ttl)
	orphans, err := l.FindOrphans(ctxT(t), now, 0)
	require.NoError(t, err)
	require.Equal(t, []string{"d1"}, ids(orphans), "expiry <= now is expired")

	const claimers = 8
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		wins  []string
		start = make(chan struct{})
		errs  = make(chan error, claimers)
	)
	for i := range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			owner := fmt.Sprintf("replica-%d", i)
			_, err := l.ClaimDebate(ctxT(t), "d1", owner, now, ttl)
			switch {
			case err == nil:
				mu.Lock()
				wins = append(wins, owner)
				mu.Unlock()
			case !errors.Is(err, store.ErrConflict):
				errs <- err
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, wins, 1)
	require.NoError(t, l.Heartbeat(ctxT(t), "d1", wins[0], now.Add(time.Second), ttl))
	require.ErrorIs(t, l.Heartbeat(ctxT(t), "d1", "crashed", now.Add(time.Second), ttl), store.ErrConflict, "the old owner lost it")
}

func testHeartbeatLost(t *testing.T, s store.DebateStore) {
	l := leaser(s)
	d := newDebate("d1", base)
	d.Status = store.StatusRunning
	mustCreate(t, s, d)
	_, err := l.ClaimDebate(ctxT(t), "d1", "r", base, ttl)
	require.NoError(t, err)
	// An operator's UPDATE debates SET status='timeout'.
	require.NoError(t, l.UpdateStatus(ctxT(t), "d1", nil, store.StatusTimeout, base.Add(time.Second)))
	require.ErrorIs(t, l.Heartbeat(ctxT(t), "d1", "r", base.Add(2*time.Second), ttl), store.ErrConflict)
	got, err := s.GetDebate(ctxT(t), "d1")
	require.NoError(t, err)
	assertTime(t, base.Add(time.Second), got.UpdatedAt, "failed heartbeat writes nothing")
	assertTime(t, base.Add(time.Second), got.FinishedAt, "FinishedAt")
	orphans, err := l.FindOrphans(ctxT(t), base.Add(time.Hour), 0)
	require.NoError(t, err)
	assert.Empty(t, orphans, "terminal debates are not orphans")
}

func testUpdateStatus(t *testing.T, s store.DebateStore) {
	l := leaser(s)
	mustCreate(t, s, newDebate("d1", base))
	t1 := base.Add(time.Second)
	require.ErrorIs(t, l.UpdateStatus(ctxT(t), "d1", []string{store.StatusRunning}, store.StatusCancelled, t1), store.ErrConflict)
	require.NoError(t, l.UpdateStatus(ctxT(t), "d1", []string{store.StatusPending}, store.StatusRunning, t1))
	t2 := t1.Add(time.Second)
	require.NoError(t, l.UpdateStatus(ctxT(t), "d1", []string{store.StatusRunning}, store.StatusRunning, t2), "same status")
	got, err := s.GetDebate(ctxT(t), "d1")
	require.NoError(t, err)
	assertTime(t, t1, got.StartedAt, "StartedAt kept from the first start")
	assertTime(t, t2, got.UpdatedAt, "UpdatedAt")
	assert.True(t, got.FinishedAt.IsZero())
	t3 := t2.Add(time.Second)
	require.NoError(t, l.UpdateStatus(ctxT(t), "d1", []string{store.StatusPending, store.StatusRunning}, store.StatusCancelled, t3))
	got, err = s.GetDebate(ctxT(t), "d1")
	require.NoError(t, err)
	assert.Equal(t, store.StatusCancelled, got.Status)
	assertTime(t, t3, got.FinishedAt, "FinishedAt")
	require.ErrorIs(t, l.UpdateStatus(ctxT(t), "d1", []string{store.StatusPending, store.StatusRunning}, store.StatusCancelled, t3), store.ErrConflict)
	list, err := s.ListDebates(ctxT(t), store.Filter{Statuses: []string{store.StatusCancelled}})
	require.NoError(t, err)
	assert.Equal(t, []string{"d1"}, ids(list))
}

func testSetResult(t *testing.T, s store.DebateStore) {
	l := leaser(s)
	mustCreate(t, s, newDebate("d1", base))
	res := json.RawMessage(`{"winner":"a","final_answer":"x"}`)
	require.NoError(t, l.SetResult(ctxT(t), "d1", res, base.Add(time.Minute)))
	got, err := s.GetDebate(ctxT(t), "d1")
	require.NoError(t, err)
	assert.Equal(t, string(res), string(got.Result))
	assertTime(t, base.Add(time.Minute), got.UpdatedAt, "UpdatedAt")
}

func testFindOrphansAndStale(t *testing.T, s store.DebateStore) {
	l := leaser(s)
	mk := func(id, status string, updated time.Duration) {
		d := newDebate(id, base)
		d.Status = status
		d.UpdatedAt = base.Add(updated)
		mustCreate(t, s, d)
	}
	mk("running-live", store.StatusRunning, 0)
	mk("running-expired", store.StatusRunning, 0)
	mk("running-unleased", store.StatusRunning, -time.Hour)
	mk("pending-unleased", store.StatusPending, -time.Minute)
	mk("pending-live", store.StatusPending, 0)
	mk("finished", store.StatusNoConsensus, -2*time.Hour)
	now := base.Add(time.Minute)
	_, err := l.ClaimDebate(ctxT(t), "running-live", "a", now.Add(-time.Second), ttl)
	require.NoError(t, err)
	_, err = l.ClaimDebate(ctxT(t), "pending-live", "a", now.Add(-time.Second), ttl)
	require.NoError(t, err)
	_, err = l.ClaimDebate(ctxT(t), "running-expired", "a", now.Add(-ttl-time.Second), ttl)
	require.NoError(t, err)

	orphans, err := l.FindOrphans(ctxT(t), now, 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"running-unleased", "pending-unleased", "running-expired"}, ids(orphans))
	orphans, err = l.FindOrphans(ctxT(t), now, 2)
	require.NoError(t, err)
	assert.Equal(t, []string{"running-unleased", "pending-unleased"}, ids(orphans))

	stale, err := l.FindStale(ctxT(t), now.Add(-10*time.Second), 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"running-unleased", "running-expired"}, ids(stale))
	stale, err = l.FindStale(ctxT(t), base.Add(-time.Hour), 0)
	require.NoError(t, err)
	assert.Empty(t, stale, "strictly before")
}

func testSingleDebateEnd(t *testing.T, s store.DebateStore) {
	l := leaser(s)
	d := newDebate("d1", base)
	d.Status = store.StatusRunning
	mustCreate(t, s, d)
	_, err := l.AppendDebateEnd(ctxT(t), "missing", func(int64) (json.RawMessage, error) { return json.RawMessage(`{}`), nil })
	require.ErrorIs(t, err, store.ErrNotFound)

	if c, ok := s.(store.Checkpointer); ok {
		mustSave(t, c, checkpointAt("d1", 0, "init", 1, 2, store.StatusRunning, base))
	}
	unended, err := l.FindUnended(ctxT(t), 0)
	require.NoError(t, err)
	assert.Empty(t, unended, "running debates are not unended")

	// An operator times the debate out: the sweeper finds it and ends it.
	require.NoError(t, l.UpdateStatus(ctxT(t), "d1", nil, store.StatusTimeout, base.Add(time.Minute)))
	unended, err = l.FindUnended(ctxT(t), 0)
	require.NoError(t, err)
	require.Equal(t, []string{"d1"}, ids(unended))
	want := unended[0].LastSeq + 1

	buildErr := errors.New("boom")
	_, err = l.AppendDebateEnd(ctxT(t), "d1", func(int64) (json.RawMessage, error) { return nil, buildErr })
	require.ErrorIs(t, err, buildErr)

	e, err := l.AppendDebateEnd(ctxT(t), "d1", func(seq int64) (json.RawMessage, error) {
		return json.RawMessage(fmt.Sprintf(`{"seq":%d,"type":"debate_end"}`, seq)), nil
	})
	require.NoError(t, err)
	assert.Equal(t, want, e.Seq)
	assert.Equal(t, store.EventDebateEnd, e.Type)
	assert.Equal(t, fmt.Sprintf(`{"seq":%d,"type":"debate_end"}`, want), string(e.JSON))
	got, err := s.GetDebate(ctxT(t), "d1")
	require.NoError(t, err)
	assert.Equal(t, want, got.LastSeq)
	unended, err = l.FindUnended(ctxT(t), 0)
	require.NoError(t, err)
	assert.Empty(t, unended)

	_, err = l.AppendDebateEnd(ctxT(t), "d1", func(seq int64) (json.RawMessage, error) { return json.RawMessage(`{}`), nil })
	require.ErrorIs(t, err, store.ErrConflict, "a second synthetic end")
	if c, ok := s.(store.Checkpointer); ok {
		// The orchestrator's own end, racing the sweeper, loses too.
		cp := checkpointAt("d1", 1, "end", want+1, want+1, store.StatusTimeout, base)
		cp.Events[0].Type = store.EventDebateEnd
		require.ErrorIs(t, c.SaveCheckpoint(ctxT(t), cp), store.ErrConflict)
		evs := allEvents(t, c, "d1")
		assert.Len(t, evs, int(want))
	}
}

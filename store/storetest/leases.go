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
	{Name: "ClaimHeartbeatRelease", Fn: testClaimHeartbeatRelease},
	{Name: "ClaimErrors", Fn: testClaimErrors},
	{Name: "OneClaimerWins", Fn: testOneClaimerWins},
	{Name: "HeartbeatLostOnStatusChange", Fn: testHeartbeatLost},
	{Name: "UpdateStatus", Fn: testUpdateStatus},
	{Name: "FinishDebate", Fn: testFinishDebate},
	{Name: "FencedByGeneration", Fn: testFencedByGeneration},
	{Name: "CreateLeased", Fn: testCreateLeased},
	{Name: "FindOrphansAndStale", Fn: testFindOrphansAndStale},
	{Name: "SingleDebateEnd", Fn: testSingleDebateEnd},
}

func leaser(s store.DebateStore) store.Leaser { return s.(store.Leaser) }

const ttl = 30 * time.Second

// mustCreateRunning creates debate id, running, created at base.
func mustCreateRunning(t *testing.T, s store.DebateStore, id string) {
	t.Helper()
	d := newDebate(id, base)
	d.Status = store.StatusRunning
	mustCreate(t, s, d)
}

// mustClaimRunning creates debate id, running, and claims it for owner at
// base; it returns the claimed record.
func mustClaimRunning(t *testing.T, s store.DebateStore, id, owner string) *store.Debate {
	t.Helper()
	mustCreateRunning(t, s, id)
	d, err := leaser(s).ClaimDebate(ctxT(t), id, owner, base, ttl)
	require.NoError(t, err)
	return d
}

func testClaimHeartbeatRelease(t *testing.T, s store.DebateStore) {
	l := leaser(s)
	mustCreate(t, s, newDebate("d1", base))
	t1 := base.Add(time.Second)
	d, err := l.ClaimDebate(ctxT(t), "d1", "replica-a", t1, ttl)
	require.NoError(t, err)
	assert.Equal(t, "d1", d.ID)
	assertTime(t, t1, d.UpdatedAt, "UpdatedAt after claim")
	assert.Equal(t, "replica-a", d.LeaseOwner)
	assert.Equal(t, int64(1), d.LeaseGeneration, "the first claim is generation 1")
	assertTime(t, t1.Add(ttl), d.LeaseExpiresAt, "LeaseExpiresAt")
	// Claiming again by the holder renews, with a new generation.
	d, err = l.ClaimDebate(ctxT(t), "d1", "replica-a", t1.Add(time.Second), ttl)
	require.NoError(t, err)
	assert.Equal(t, int64(2), d.LeaseGeneration)
	a := store.LeaseOf(d)
	require.NoError(t, l.UpdateStatus(ctxT(t), "d1", []store.Status{store.StatusPending}, store.StatusRunning, t1.Add(2*time.Second)))

	t2 := t1.Add(10 * time.Second)
	require.NoError(t, l.Heartbeat(ctxT(t), "d1", a, t2, ttl))
	got, err := s.GetDebate(ctxT(t), "d1")
	require.NoError(t, err)
	assertTime(t, t2, got.UpdatedAt, "UpdatedAt is the heartbeat")
	assertTime(t, t1.Add(2*time.Second), got.StartedAt, "StartedAt")

	assertTime(t, t2.Add(ttl), got.LeaseExpiresAt, "LeaseExpiresAt after heartbeat")

	// Another replica cannot heartbeat, release or claim while the lease is valid.
	b := store.Lease{Owner: "replica-b", Generation: a.Generation}
	require.ErrorIs(t, l.Heartbeat(ctxT(t), "d1", b, t2, ttl), store.ErrLeaseLost)
	require.ErrorIs(t, l.ReleaseDebate(ctxT(t), "d1", b, store.StatusPending, t2), store.ErrLeaseLost)
	_, err = l.ClaimDebate(ctxT(t), "d1", "replica-b", t2.Add(ttl-time.Microsecond), ttl)
	require.ErrorIs(t, err, store.ErrConflict)
	orphans, err := l.FindOrphans(ctxT(t), t2.Add(ttl-time.Microsecond), 0)
	require.NoError(t, err)
	assert.Empty(t, ids(orphans))

	// Graceful shutdown: back to pending, lease released, at once an orphan.
	t3 := t2.Add(time.Second)
	require.NoError(t, l.ReleaseDebate(ctxT(t), "d1", a, store.StatusPending, t3))
	got, err = s.GetDebate(ctxT(t), "d1")
	require.NoError(t, err)
	assert.Equal(t, store.StatusPending, got.Status)
	assert.Empty(t, got.LeaseOwner, "released")
	assertTime(t, t3, got.UpdatedAt, "UpdatedAt after release")
	orphans, err = l.FindOrphans(ctxT(t), t3, 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"d1"}, ids(orphans))
	require.ErrorIs(t, l.Heartbeat(ctxT(t), "d1", a, t3, ttl), store.ErrConflict, "released lease")
	_, err = l.ClaimDebate(ctxT(t), "d1", "replica-b", t3, ttl)
	require.NoError(t, err)
}

func testClaimErrors(t *testing.T, s store.DebateStore) {
	l := leaser(s)
	_, err := l.ClaimDebate(ctxT(t), "missing", "r", base, ttl)
	require.ErrorIs(t, err, store.ErrNotFound)
	r := store.Lease{Owner: "r", Generation: 1}
	require.ErrorIs(t, l.Heartbeat(ctxT(t), "missing", r, base, ttl), store.ErrNotFound)
	require.ErrorIs(t, l.ReleaseDebate(ctxT(t), "missing", r, "", base), store.ErrNotFound)
	require.ErrorIs(t, l.UpdateStatus(ctxT(t), "missing", nil, store.StatusRunning, base), store.ErrNotFound)
	require.ErrorIs(t, l.FinishDebate(ctxT(t), "missing", &store.Finish{Status: store.StatusFailed}, base), store.ErrNotFound)

	done := newDebate("done", base)
	done.Status = store.StatusFailed
	mustCreate(t, s, done)
	_, err = l.ClaimDebate(ctxT(t), "done", "r", base, ttl)
	require.ErrorIs(t, err, store.ErrConflict, "terminal debates are never claimed")

	// Heartbeat needs status running.
	mustCreate(t, s, newDebate("pending", base))
	d, err := l.ClaimDebate(ctxT(t), "pending", "r", base, ttl)
	require.NoError(t, err)
	require.ErrorIs(t, l.Heartbeat(ctxT(t), "pending", store.LeaseOf(d), base, ttl), store.ErrLeaseLost)
}

func testOneClaimerWins(t *testing.T, s store.DebateStore) {
	l := leaser(s)
	crashed := mustClaimRunning(t, s, "d1", "crashed")
	// The crashed replica's lease has expired; replicas race for it.
	now := base.Add(ttl)
	orphans, err := l.FindOrphans(ctxT(t), now, 0)
	require.NoError(t, err)
	require.Equal(t, []string{"d1"}, ids(orphans), "expiry <= now is expired")

	const claimers = 8
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		wins  []store.Lease
		start = make(chan struct{})
		errs  = make(chan error, claimers)
	)
	for i := range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			owner := fmt.Sprintf("replica-%d", i)
			d, err := l.ClaimDebate(ctxT(t), "d1", owner, now, ttl)
			switch {
			case err == nil:
				mu.Lock()
				wins = append(wins, store.LeaseOf(d))
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
	assert.Equal(t, crashed.LeaseGeneration+1, wins[0].Generation)
	require.NoError(t, l.Heartbeat(ctxT(t), "d1", wins[0], now.Add(time.Second), ttl))
	require.ErrorIs(t, l.Heartbeat(ctxT(t), "d1", store.LeaseOf(crashed), now.Add(time.Second), ttl), store.ErrLeaseLost, "the old owner lost it")
}

func testHeartbeatLost(t *testing.T, s store.DebateStore) {
	l := leaser(s)
	claimed := mustClaimRunning(t, s, "d1", "r")
	// An operator's UPDATE debates SET status='timeout'.
	require.NoError(t, l.UpdateStatus(ctxT(t), "d1", nil, store.StatusTimeout, base.Add(time.Second)))
	require.ErrorIs(t, l.Heartbeat(ctxT(t), "d1", store.LeaseOf(claimed), base.Add(2*time.Second), ttl), store.ErrLeaseLost)
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
	require.ErrorIs(t, l.UpdateStatus(ctxT(t), "d1", []store.Status{store.StatusRunning}, store.StatusCancelled, t1), store.ErrConflict)
	require.NoError(t, l.UpdateStatus(ctxT(t), "d1", []store.Status{store.StatusPending}, store.StatusRunning, t1))
	t2 := t1.Add(time.Second)
	require.NoError(t, l.UpdateStatus(ctxT(t), "d1", []store.Status{store.StatusRunning}, store.StatusRunning, t2), "same status")
	got, err := s.GetDebate(ctxT(t), "d1")
	require.NoError(t, err)
	assertTime(t, t1, got.StartedAt, "StartedAt kept from the first start")
	assertTime(t, t2, got.UpdatedAt, "UpdatedAt")
	assert.True(t, got.FinishedAt.IsZero())
	t3 := t2.Add(time.Second)
	require.NoError(t, l.UpdateStatus(ctxT(t), "d1", []store.Status{store.StatusPending, store.StatusRunning}, store.StatusCancelled, t3))
	got, err = s.GetDebate(ctxT(t), "d1")
	require.NoError(t, err)
	assert.Equal(t, store.StatusCancelled, got.Status)
	assertTime(t, t3, got.FinishedAt, "FinishedAt")
	require.ErrorIs(t, l.UpdateStatus(ctxT(t), "d1", []store.Status{store.StatusPending, store.StatusRunning}, store.StatusCancelled, t3), store.ErrConflict)
	list, err := s.ListDebates(ctxT(t), store.Filter{Statuses: []store.Status{store.StatusCancelled}})
	require.NoError(t, err)
	assert.Equal(t, []string{"d1"}, ids(list))
}

func endBuilder(status store.Status) func(int64) (json.RawMessage, error) {
	return func(seq int64) (json.RawMessage, error) {
		return json.RawMessage(fmt.Sprintf(`{"seq":%d,"type":"debate_end","data":{"status":%q}}`, seq, status)), nil
	}
}

func testFinishDebate(t *testing.T, s store.DebateStore) {
	l := leaser(s)
	claimed := mustClaimRunning(t, s, "d1", "a")
	lease := store.LeaseOf(claimed)

	// A non-terminal status is refused, nothing written.
	require.Error(t, l.FinishDebate(ctxT(t), "d1", &store.Finish{Lease: &lease, Status: store.StatusRunning}, base))
	// A status not in From conflicts.
	require.ErrorIs(t, l.FinishDebate(ctxT(t), "d1", &store.Finish{From: []store.Status{store.StatusPending}, Status: store.StatusFailed}, base),
		store.ErrConflict)
	// An error from End writes nothing.
	boom := errors.New("boom")
	require.ErrorIs(t, l.FinishDebate(ctxT(t), "d1", &store.Finish{Lease: &lease, Status: store.StatusFailed,
		End: func(int64) (json.RawMessage, error) { return nil, boom }}, base), boom)
	got, err := s.GetDebate(ctxT(t), "d1")
	require.NoError(t, err)
	assert.Equal(t, store.StatusRunning, got.Status, "nothing written")

	res := json.RawMessage(`{"winner":"a","final_answer":"x"}`)
	at := base.Add(time.Minute)
	usage := []store.UsageRecord{
		{UserID: "usr_1", Provider: "demo", Model: "m", TokensIn: 10, TokensOut: 5, CostUSD: 0.5, DebateID: "d1"},
		{UserID: "usr_1", Provider: "demo", Model: "m", TokensIn: 1, TokensOut: 1, DebateID: "d1", At: at},
	}
	require.NoError(t, l.FinishDebate(ctxT(t), "d1", &store.Finish{Lease: &lease, Status: store.StatusConsensusReached,
		End: endBuilder(store.StatusConsensusReached), Final: store.Final{Result: res, Usage: usage}}, at))
	got, err = s.GetDebate(ctxT(t), "d1")
	require.NoError(t, err)
	assert.Equal(t, store.StatusConsensusReached, got.Status)
	assert.Equal(t, string(res), string(got.Result))
	assertTime(t, at, got.FinishedAt, "FinishedAt")
	assertTime(t, at, got.UpdatedAt, "UpdatedAt")
	assert.Empty(t, got.LeaseOwner, "a terminal debate has no lease")
	assert.Equal(t, int64(1), got.LastSeq, "the debate_end is seq 1")
	if c, ok := s.(store.Checkpointer); ok {
		evs := allEvents(t, c, "d1")
		require.Len(t, evs, 1)
		assert.Equal(t, store.EventDebateEnd, evs[0].Type)
	}
	if us, ok := s.(store.UsageStore); ok {
		b, err := us.AggregateUsage(ctxT(t), store.UsageFilter{UserID: "usr_1", From: base.Add(-time.Hour), To: base.Add(time.Hour)})
		require.NoError(t, err)
		require.Len(t, b, 1)
		assert.Equal(t, int64(2), b[0].Requests)
		assert.Equal(t, int64(11), b[0].TokensIn)
	}
	// Finished: a second finish conflicts.
	require.ErrorIs(t, l.FinishDebate(ctxT(t), "d1", &store.Finish{Status: store.StatusTimeout}, at), store.ErrConflict)
	require.ErrorIs(t, l.FinishDebate(ctxT(t), "d1", &store.Finish{Lease: &lease, Status: store.StatusTimeout}, at), store.ErrLeaseLost)

	// Without a lease, From decides; a log that already has its
	// debate_end gets no second one.
	mustCreate(t, s, newDebate("d2", base))
	require.NoError(t, l.FinishDebate(ctxT(t), "d2", &store.Finish{From: []store.Status{store.StatusPending}, Status: store.StatusFailed,
		End: endBuilder(store.StatusFailed)}, at))
	got, err = s.GetDebate(ctxT(t), "d2")
	require.NoError(t, err)
	assert.Equal(t, store.StatusFailed, got.Status)
	assert.Empty(t, got.Result, "no result given, none stored")
	_, err = l.AppendDebateEnd(ctxT(t), "d2", endBuilder(store.StatusFailed))
	require.ErrorIs(t, err, store.ErrConflict, "FinishDebate appended the debate_end")
}

func testFencedByGeneration(t *testing.T, s store.DebateStore) {
	l := leaser(s)
	old := mustClaimRunning(t, s, "d1", "a")
	oldLease := store.LeaseOf(old)
	c, hasCP := s.(store.Checkpointer)
	if hasCP {
		cp := checkpointAt("d1", 0, "init", 1, 2, store.StatusRunning, base)
		cp.Lease = &oldLease
		mustSave(t, c, cp)
	}
	// The same owner claims again (a new run in the same process): the old
	// run's writes are refused from now on.
	cur, err := l.ClaimDebate(ctxT(t), "d1", "a", base.Add(time.Second), ttl)
	require.NoError(t, err)
	curLease := store.LeaseOf(cur)
	require.Equal(t, oldLease.Generation+1, curLease.Generation)
	require.ErrorIs(t, l.Heartbeat(ctxT(t), "d1", oldLease, base.Add(2*time.Second), ttl), store.ErrLeaseLost)
	require.ErrorIs(t, l.FinishDebate(ctxT(t), "d1", &store.Finish{Lease: &oldLease, Status: store.StatusFailed}, base), store.ErrLeaseLost)
	require.ErrorIs(t, l.ReleaseDebate(ctxT(t), "d1", oldLease, store.StatusPending, base), store.ErrLeaseLost)
	if hasCP {
		stale := checkpointAt("d1", 1, "propose", 3, 4, store.StatusRunning, base)
		stale.Lease = &oldLease
		err := c.SaveCheckpoint(ctxT(t), stale)
		require.ErrorIs(t, err, store.ErrLeaseLost)
		require.ErrorIs(t, err, store.ErrConflict, "a lost lease is a conflict too")
		assert.Equal(t, []int64{1, 2}, seqs(allEvents(t, c, "d1")), "the stale writer appended nothing")

		// The current holder writes; its terminal checkpoint commits the
		// final result with it and drops the lease.
		next := checkpointAt("d1", 1, "propose", 3, 4, store.StatusRunning, base)
		next.Lease = &curLease
		mustSave(t, c, next)
		end := checkpointAt("d1", 1, "end", 5, 5, store.StatusNoConsensus, base.Add(time.Minute))
		end.Events[0].Type = store.EventDebateEnd
		end.Lease = &curLease
		end.Final = &store.Final{Result: json.RawMessage(`{"status":"no_consensus"}`)}
		mustSave(t, c, end)
		got, err := s.GetDebate(ctxT(t), "d1")
		require.NoError(t, err)
		assert.Equal(t, store.StatusNoConsensus, got.Status)
		assert.JSONEq(t, `{"status":"no_consensus"}`, string(got.Result))
		assert.Empty(t, got.LeaseOwner)
		// Saving the identical end again is still a no-op (a retried write).
		mustSave(t, c, end)
		// A fenced checkpoint of a debate without a record is refused.
		orphan := checkpointAt("no-record", 0, "init", 1, 1, store.StatusRunning, base)
		orphan.Lease = &curLease
		require.ErrorIs(t, c.SaveCheckpoint(ctxT(t), orphan), store.ErrLeaseLost)
	}
}

func testCreateLeased(t *testing.T, s store.DebateStore) {
	l := leaser(s)
	d := newDebate("d1", base)
	d.Status = store.StatusRunning
	d.LeaseOwner, d.LeaseExpiresAt, d.LeaseGeneration = "cli", base.Add(ttl), 1
	mustCreate(t, s, d)
	got, err := s.GetDebate(ctxT(t), "d1")
	require.NoError(t, err)
	assert.Equal(t, store.Lease{Owner: "cli", Generation: 1}, store.LeaseOf(got))
	assertTime(t, base.Add(ttl), got.LeaseExpiresAt, "LeaseExpiresAt")
	orphans, err := l.FindOrphans(ctxT(t), base.Add(time.Second), 0)
	require.NoError(t, err)
	assert.Empty(t, orphans, "created leased: not an orphan")
	_, err = l.ClaimDebate(ctxT(t), "d1", "server", base.Add(time.Second), ttl)
	require.ErrorIs(t, err, store.ErrConflict)
	require.NoError(t, l.Heartbeat(ctxT(t), "d1", store.LeaseOf(got), base.Add(time.Second), ttl))
}

func testFindOrphansAndStale(t *testing.T, s store.DebateStore) {
	l := leaser(s)
	mk := func(id string, status store.Status, updated time.Duration) {
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
	mustCreateRunning(t, s, "d1")
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

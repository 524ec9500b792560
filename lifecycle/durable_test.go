package lifecycle_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/lifecycle"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/memstore"
)

// errStoreDown is what outageStore answers while down.
var errStoreDown = errors.New("store: connection refused")

// outageStore is a memstore whose final checkpoint writes (a debate's
// result) fail while down, like a database that stopped just then;
// failedFinal counts the failed attempts.
type outageStore struct {
	*memstore.Store
	down        atomic.Bool
	failedFinal atomic.Int64
	downAll     atomic.Bool // every checkpoint write fails
	failedAny   atomic.Int64
}

func (s *outageStore) SaveCheckpoint(ctx context.Context, c *store.Checkpoint) error {
	if s.downAll.Load() {
		s.failedAny.Add(1)
		return errStoreDown
	}
	if s.down.Load() && c.Final != nil {
		s.failedFinal.Add(1)
		return errStoreDown
	}
	return s.Store.SaveCheckpoint(ctx, c)
}

// endWatch records the debate_end events observers receive and the
// debates OnFinished reports.
type endWatch struct {
	mu       sync.Mutex
	ends     []debate.Event
	finished []*store.Debate
}

func (w *endWatch) observer() debate.Observer {
	return debate.ObserverFunc(func(e debate.Event) {
		if e.Type == debate.EventDebateEnd {
			w.mu.Lock()
			w.ends = append(w.ends, e)
			w.mu.Unlock()
		}
	})
}

func (w *endWatch) onFinished(d *store.Debate) {
	w.mu.Lock()
	w.finished = append(w.finished, d)
	w.mu.Unlock()
}

func (w *endWatch) counts() (ends, finished int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.ends), len(w.finished)
}

// createDuringOutage creates a debate with body, lets its agents answer
// once the store goes down (down set) and returns its id once the store
// has refused n writes (failed).
func createDuringOutage(t *testing.T, m *lifecycle.Manager, a agents, open func(), body string, down *atomic.Bool, failed *atomic.Int64, n int64) string {
	t.Helper()
	d, err := m.Create(context.Background(), spec(t, body), "usr_1", "")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return a.calls.Load() >= 1 }, 10*time.Second, time.Millisecond)
	down.Store(true)
	open()
	require.Eventually(t, func() bool { return failed.Load() >= n }, 20*time.Second, 5*time.Millisecond)
	return d.ID
}

// requireOneEnd checks a finished debate's event log: seq contiguous from
// 1 and one debate_end.
func requireOneEnd(t *testing.T, st store.DebateStore, id string) {
	t.Helper()
	evs := events(t, st, id)
	assert.Equal(t, 1, ends(evs))
	for i, e := range evs {
		require.Equal(t, int64(i+1), e.Seq, "seq contiguous from 1")
	}
}

// TestFinalCommitRetriedWhileTheStoreIsDown: a debate whose final commit
// fails stays running, shows nothing (no debate_end to observers, no
// OnFinished, the API object running), and is committed once the store
// writes again, with the receipt and usage it computed, never re-run.
func TestFinalCommitRetriedWhileTheStoreIsDown(t *testing.T) {
	t.Parallel()
	st := &outageStore{Store: memstore.New()}
	a, open := gated()
	var w endWatch
	m := newManager(t, st, a, lifecycle.Config{Observers: []debate.Observer{w.observer()}, OnFinished: w.onFinished})
	id := createDuringOutage(t, m, a, open, `{"topic":"Durable?","rounds":1,"seed":11}`, &st.down, &st.failedFinal, 4)
	callsWhileDown := a.calls.Load()

	cur, err := st.GetDebate(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, store.StatusRunning, cur.Status)
	assert.Equal(t, store.StatusRunning, m.Object(cur, true).Status, "not shown before it is durable")
	nEnds, nFinished := w.counts()
	assert.Zero(t, nEnds, "no debate_end reaches observers before the commit")
	assert.Zero(t, nFinished)

	st.down.Store(false)
	final := waitStatus(t, st, id, store.Terminal)
	assert.Equal(t, callsWhileDown, a.calls.Load(), "the computed result is committed, no agent is called again")
	var doc lifecycle.ResultDoc
	require.NoError(t, json.Unmarshal(final.Result, &doc))
	require.NotEmpty(t, doc.ReceiptID)
	require.Eventually(t, func() bool { e, f := w.counts(); return e == 1 && f == 1 }, 10*time.Second, time.Millisecond)
	w.mu.Lock()
	shown := w.ends[0].Data.(debate.DebateEndData)
	w.mu.Unlock()
	require.NotNil(t, shown.ReceiptID)
	assert.Equal(t, doc.ReceiptID, *shown.ReceiptID, "the receipt id shown is the one stored")
	requireOneEnd(t, st, id)
	buckets, err := st.AggregateUsage(context.Background(), store.UsageFilter{UserID: "usr_1", From: final.CreatedAt.Add(-time.Hour), To: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	require.Len(t, buckets, 1, "usage committed with the result")
	assert.Positive(t, buckets[0].TokensIn)
}

// TestShutdownWhileTheFinalCommitFailsShowsNothing: a process stopped
// while its final commit fails leaves the debate resumable and shows
// nothing; the next process finishes it with one debate_end.
func TestShutdownWhileTheFinalCommitFailsShowsNothing(t *testing.T) {
	t.Parallel()
	st := &outageStore{Store: memstore.New()}
	a, open := gated()
	var w endWatch
	first, err := lifecycle.New(st, a, lifecycle.Config{Holder: "first", Observers: []debate.Observer{w.observer()}, OnFinished: w.onFinished})
	require.NoError(t, err)
	id := createDuringOutage(t, first, a, open, `{"topic":"Stop me","rounds":1,"seed":12}`, &st.down, &st.failedFinal, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, first.Shutdown(ctx))
	nEnds, nFinished := w.counts()
	assert.Zero(t, nEnds)
	assert.Zero(t, nFinished)
	cur, err := st.GetDebate(context.Background(), id)
	require.NoError(t, err)
	assert.False(t, store.Terminal(cur.Status), cur.Status)
	assert.Zero(t, ends(events(t, st, id)))

	st.down.Store(false)
	second := newManager(t, st, agents{}, lifecycle.Config{Holder: "second", SweepEvery: 10 * time.Millisecond, LeaseDuration: 50 * time.Millisecond})
	second.Start()
	final := waitStatus(t, st, id, store.Terminal)
	requireOneEnd(t, st, id)
	assert.NotEmpty(t, final.Result)
}

// TestCheckpointRetriedWhileTheStoreIsDown: a store outage between two
// phases leaves the debate running (it is not failed for it) and the
// debate carries on once the store writes again.
func TestCheckpointRetriedWhileTheStoreIsDown(t *testing.T) {
	t.Parallel()
	st := &outageStore{Store: memstore.New()}
	a, open := gated()
	m := newManager(t, st, a, lifecycle.Config{})
	id := createDuringOutage(t, m, a, open, `{"topic":"Blip","rounds":2,"seed":13}`, &st.downAll, &st.failedAny, 4)
	cur, err := st.GetDebate(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, store.StatusRunning, m.Object(cur, true).Status)
	st.downAll.Store(false)
	final := waitStatus(t, st, id, store.Terminal)
	assert.Contains(t, []store.Status{store.StatusConsensusReached, store.StatusNoConsensus}, final.Status, "not failed for a store outage")
	requireOneEnd(t, st, id)
}

// TestSoleServerClaimsAnotherServersDebatesAtOnce: the process holding the
// data directory's serve lock claims the debates another server held
// without waiting for their leases to expire (that server is known dead),
// and reports Resumed once its first sweep is done.
func TestSoleServerClaimsAnotherServersDebatesAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := memstore.New()
	first, err := lifecycle.New(st, agents{}, lifecycle.Config{Holder: "first"})
	require.NoError(t, err)
	first.Drain()
	d, err := first.Create(ctx, spec(t, `{"topic":"Crashed","rounds":1,"seed":14}`), "usr_1", "")
	require.NoError(t, err)
	require.Equal(t, store.StatusPending, d.Status)
	// A server of another host (its liveness cannot be told from here)
	// holds it with an hour-long lease, then dies.
	_, err = st.ClaimDebate(ctx, d.ID, "otherhost-4242-deadbeef", time.Now(), time.Hour)
	require.NoError(t, err)

	second := newManager(t, st, agents{}, lifecycle.Config{Holder: "second"})
	second.SetSoleServer()
	assert.True(t, second.Resumed(), "nothing to wait for before Start")
	second.Start()
	final := waitStatus(t, st, d.ID, store.Terminal)
	// The claimed debate may end before the sweep that claimed it reports.
	require.Eventually(t, second.Resumed, 10*time.Second, 5*time.Millisecond)
	assert.NotEmpty(t, final.Result)
	requireOneEnd(t, st, d.ID)
}

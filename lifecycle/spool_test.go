package lifecycle_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/lifecycle"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/sqlitestore"
)

// finalFailingStore is a real SQLite store whose final commits (the
// checkpoint carrying a debate's result) fail while down; it keeps the
// last final checkpoint it refused.
type finalFailingStore struct {
	*sqlitestore.Store
	down   atomic.Bool
	failed atomic.Int64
	mu     sync.Mutex
	last   *store.Checkpoint
}

func (s *finalFailingStore) SaveCheckpoint(ctx context.Context, c *store.Checkpoint) error {
	if s.down.Load() && c.Final != nil {
		s.mu.Lock()
		s.last = c
		s.mu.Unlock()
		s.failed.Add(1)
		return errStoreDown
	}
	return s.Store.SaveCheckpoint(ctx, c)
}

func (s *finalFailingStore) refused() *store.Checkpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

func openSQLite(t *testing.T, dir string) *sqlitestore.Store {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), filepath.Join(dir, "aragora.db"), sqlitestore.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// spoolAtShutdown runs a debate on a real SQLite store whose final commit
// fails (n refusals), and shuts its process down before the store writes
// again; it returns the store, the spool directory and the debate id.
func spoolAtShutdown(t *testing.T, body string, n int64) (st *finalFailingStore, spoolDir, id string) {
	t.Helper()
	dir := t.TempDir()
	spoolDir = filepath.Join(dir, "spool")
	st = &finalFailingStore{Store: openSQLite(t, dir)}
	a, open := gated()
	first, err := lifecycle.New(st, a, lifecycle.Config{Holder: "first", SpoolDir: spoolDir})
	require.NoError(t, err)
	id = createDuringOutage(t, first, a, open, body, &st.down, &st.failed, n)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, first.Shutdown(ctx))
	return st, spoolDir, id
}

// TestSpooledResultRecommittedWithoutRunningAgents: a process whose final
// commit still fails when it shuts down spools the computed result; the
// next process on the same spool directory commits that very result
// (same receipt id, same usage) and calls no agent.
func TestSpooledResultRecommittedWithoutRunningAgents(t *testing.T) {
	t.Parallel()
	st, spoolDir, id := spoolAtShutdown(t, `{"topic":"Keep what you paid for","rounds":1,"seed":21}`, 2)
	computed := st.refused()
	require.NotNil(t, computed)
	var want lifecycle.ResultDoc
	require.NoError(t, json.Unmarshal(computed.Final.Result, &want))
	require.NotEmpty(t, want.ReceiptID)
	_, err := os.Stat(filepath.Join(spoolDir, "final-"+id+".json"))
	require.NoError(t, err, "the computed result is spooled")
	cur, err := st.GetDebate(context.Background(), id)
	require.NoError(t, err)
	require.False(t, store.Terminal(cur.Status), "nothing committed while the store refused")

	st.down.Store(false)
	b, openB := gated()
	openB()
	second := newManager(t, st, b, lifecycle.Config{Holder: "second", SpoolDir: spoolDir, SweepEvery: 10 * time.Millisecond, LeaseDuration: 50 * time.Millisecond})
	second.Start()
	final := waitStatus(t, st, id, store.Terminal)
	assert.Zero(t, b.calls.Load(), "the resume commits the computed result: no agent is called again")
	var got lifecycle.ResultDoc
	require.NoError(t, json.Unmarshal(final.Result, &got))
	assert.Equal(t, want.ReceiptID, got.ReceiptID, "the receipt computed is the receipt stored")
	assert.Equal(t, want.Status, got.Status)
	assert.Equal(t, want.FinalAnswer, got.FinalAnswer)
	assert.JSONEq(t, string(want.Receipt), string(got.Receipt))
	requireOneEnd(t, st, id)
	buckets, err := st.AggregateUsage(context.Background(), store.UsageFilter{UserID: "usr_1", From: final.CreatedAt.Add(-time.Hour), To: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	require.Len(t, buckets, 1, "the usage computed is committed with the result")
	var wantIn int64
	for _, u := range computed.Final.Usage {
		wantIn += u.TokensIn
	}
	assert.Equal(t, wantIn, buckets[0].TokensIn)
	// The entry goes right after the commit that waitStatus saw, on the
	// manager's goroutine: wait for it rather than race it.
	require.Eventually(t, func() bool {
		_, err := os.Stat(filepath.Join(spoolDir, "final-"+id+".json"))
		return errors.Is(err, os.ErrNotExist)
	}, 10*time.Second, time.Millisecond, "the spool entry is removed once committed")
}

// TestSpooledResultWaitsForTheStore: while the store still refuses the
// spooled result, a resume neither runs agents nor times the debate out.
func TestSpooledResultWaitsForTheStore(t *testing.T) {
	t.Parallel()
	st, spoolDir, id := spoolAtShutdown(t, `{"topic":"Still down","rounds":1,"seed":22}`, 1)

	b, openB := gated()
	openB()
	second := newManager(t, st, b, lifecycle.Config{Holder: "second", SpoolDir: spoolDir})
	j, err := second.Prepare(context.Background(), id)
	require.Error(t, err, "the spooled result cannot be committed yet")
	assert.Nil(t, j)
	assert.Zero(t, b.calls.Load())
	// Running with a heartbeat older than any bar: the sweeper would time
	// it out, but not while its computed result is spooled.
	ctx := context.Background()
	require.NoError(t, st.UpdateStatus(ctx, id, []store.Status{store.StatusPending, store.StatusRunning}, store.StatusRunning, time.Now()))
	stale, err := st.FindStale(ctx, time.Now().Add(time.Hour), 10)
	require.NoError(t, err)
	require.Len(t, stale, 1, "the debate is stale")
	assert.Empty(t, second.TimeOutStale(ctx, -time.Hour, false), "a spooled debate is not timed out")
	cur, err := st.GetDebate(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, store.StatusRunning, cur.Status)

	st.down.Store(false)
	j, err = second.Prepare(context.Background(), id)
	require.NoError(t, err)
	res, err := j.Run(context.Background())
	require.NoError(t, err)
	require.NotNil(t, res.Receipt)
	var want lifecycle.ResultDoc
	require.NoError(t, json.Unmarshal(st.refused().Final.Result, &want))
	assert.Equal(t, want.ReceiptID, res.Receipt.ReceiptID)
	assert.Zero(t, b.calls.Load())
	requireOneEnd(t, st, id)
}

package lifecycle_test

import (
	"context"
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

// committedButFailedStore is a real SQLite store whose first final commit
// (and first usage write) is committed and then reported failed, like a
// connection lost after COMMIT; it keeps the final checkpoint it committed.
type committedButFailedStore struct {
	*sqlitestore.Store
	finalLies atomic.Int64 // final commits still to report failed
	usageLies atomic.Int64 // usage writes still to report failed
	mu        sync.Mutex
	committed *store.Checkpoint
}

func (s *committedButFailedStore) SaveCheckpoint(ctx context.Context, c *store.Checkpoint) error {
	err := s.Store.SaveCheckpoint(ctx, c)
	if err == nil && c.Final != nil && s.finalLies.Add(-1) >= 0 {
		s.mu.Lock()
		s.committed = c
		s.mu.Unlock()
		return errStoreDown
	}
	return err
}

func (s *committedButFailedStore) RecordUsage(ctx context.Context, r *store.UsageRecord) error {
	err := s.Store.RecordUsage(ctx, r)
	if err == nil && s.usageLies.Add(-1) >= 0 {
		return errStoreDown
	}
	return err
}

func usageOf(t *testing.T, us store.UsageStore, user string) (requests, tokensIn int64) {
	t.Helper()
	b, err := us.AggregateUsage(context.Background(), store.UsageFilter{UserID: user, From: time.Now().Add(-24 * time.Hour), To: time.Now().Add(24 * time.Hour)})
	require.NoError(t, err)
	for _, x := range b {
		requests += x.Requests
		tokensIn += x.TokensIn
	}
	return requests, tokensIn
}

// lyingStore is a SQLite store in a directory of the test's own that
// reports failed the writes it is told to, and the configuration of the
// one manager on it (its spool in the same directory).
func lyingStore(t *testing.T) (*committedButFailedStore, lifecycle.Config) {
	t.Helper()
	dir := t.TempDir()
	return &committedButFailedStore{Store: openSQLite(t, dir)}, lifecycle.Config{Holder: "only", SpoolDir: filepath.Join(dir, "spool")}
}

// TestFinalCommitThatOnlyLookedFailedChargesOnce: a debate's final commit
// is committed but reported failed; the retries (and any later re-write
// of the same usage rows, as a re-commit from the spool would do) charge
// the owner once.
func TestFinalCommitThatOnlyLookedFailedChargesOnce(t *testing.T) {
	t.Parallel()
	st, cfg := lyingStore(t)
	st.finalLies.Store(1)
	a, open := gated()
	open()
	m, err := lifecycle.New(st, a, cfg)
	require.NoError(t, err)
	d, err := m.Create(context.Background(), spec(t, `{"topic":"Charge me once","rounds":1,"seed":31}`), "usr_1", "")
	require.NoError(t, err)
	waitStatus(t, st, d.ID, store.Terminal)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, m.Shutdown(ctx), "the retries end once the store holds the result")

	st.mu.Lock()
	committed := st.committed
	st.mu.Unlock()
	require.NotNil(t, committed, "the final commit was reported failed after committing")
	require.NotEmpty(t, committed.Final.Usage)
	var wantIn int64
	for _, u := range committed.Final.Usage {
		require.NotEmpty(t, u.ID, "every usage row has its idempotency key before the first attempt")
		wantIn += u.TokensIn
	}
	requireOneEnd(t, st, d.ID)
	n, in := usageOf(t, st, "usr_1")
	assert.Equal(t, int64(len(committed.Final.Usage)), n, "one row per agent")
	assert.Equal(t, wantIn, in)

	for i := range committed.Final.Usage {
		require.NoError(t, st.Store.RecordUsage(context.Background(), &committed.Final.Usage[i]))
	}
	n2, in2 := usageOf(t, st, "usr_1")
	assert.Equal(t, n, n2, "writing the same rows again charges nothing more")
	assert.Equal(t, in, in2)
}

// TestSpooledUsageThatOnlyLookedFailedChargesOnce: a usage write outside a
// debate that committed but was reported failed is spooled; writing the
// spool later records it once.
func TestSpooledUsageThatOnlyLookedFailedChargesOnce(t *testing.T) {
	t.Parallel()
	st, cfg := lyingStore(t)
	st.usageLies.Store(1)
	a, _ := gated()
	m := newManager(t, st, a, cfg)
	rec := store.UsageRecord{UserID: "usr_2", Provider: "demo", Model: "demo-x", TokensIn: 7, TokensOut: 3, CostUSD: 0.01, At: time.Now()}
	require.ErrorIs(t, m.RecordUsage(context.Background(), st, rec), errStoreDown, "reported failed: spooled")
	files, err := filepath.Glob(filepath.Join(cfg.SpoolDir, "usage-*.json"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	assert.Equal(t, 1, m.FlushUsage(context.Background()), "the spooled row is written again")
	n, in := usageOf(t, st, "usr_2")
	assert.Equal(t, int64(1), n, "recorded once")
	assert.Equal(t, int64(7), in)
	files, err = filepath.Glob(filepath.Join(cfg.SpoolDir, "usage-*.json"))
	require.NoError(t, err)
	assert.Empty(t, files)
}

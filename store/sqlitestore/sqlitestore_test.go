package sqlitestore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/memory"
	"github.com/aragora/aragora/memory/memorytest"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/sqlitestore"
	"github.com/aragora/aragora/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func openStore(t *testing.T, dir string, cfg sqlitestore.Config) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), filepath.Join(dir, "aragora.db"), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.DebateStore {
		return openStore(t, t.TempDir(), sqlitestore.Config{})
	})
}

func TestRatingsLiveInAgentEloDB(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openStore(t, dir, sqlitestore.Config{})
	_, err := s.RecordMatch(context.Background(), store.Match{DebateID: "d1", Agents: []string{"a", "b"}, Winner: "a"})
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(dir, "aragora.db"))
	require.FileExists(t, filepath.Join(dir, sqlitestore.RatingsFile))

	// The ratings survive a reopen; the store file holds no rating tables.
	require.NoError(t, s.Close())
	again := openStore(t, dir, sqlitestore.Config{})
	list, err := again.Ratings(context.Background(), "")
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.InDelta(t, 1516, list[0].Elo, 1e-9)
}

func TestDataSurvivesReopen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir, sqlitestore.Config{})
	require.NoError(t, s.CreateDebate(ctx, &store.Debate{ID: "d1", Status: store.StatusRunning}))
	require.NoError(t, s.SaveCheckpoint(ctx, &store.Checkpoint{DebateID: "d1", Phase: "init", Seq: 1, Status: store.StatusRunning,
		Events: []store.Event{{Seq: 1, Type: "debate_start", JSON: []byte(`{"seq":1}`)}}}))
	require.NoError(t, s.Close())

	again := openStore(t, dir, sqlitestore.Config{})
	cp, err := again.LatestCheckpoint(ctx, "d1")
	require.NoError(t, err)
	require.Equal(t, int64(1), cp.Seq)
	require.Len(t, cp.Events, 1)
	// Resume continues the log in the new process.
	require.NoError(t, again.SaveCheckpoint(ctx, &store.Checkpoint{DebateID: "d1", Round: 1, Phase: "propose", Seq: 2, Status: store.StatusRunning,
		Events: []store.Event{{Seq: 2, Type: "proposal", JSON: []byte(`{"seq":2}`)}}}))
	d, err := again.GetDebate(ctx, "d1")
	require.NoError(t, err)
	require.Equal(t, int64(2), d.LastSeq)
}

func TestMemoryConformance(t *testing.T) {
	memorytest.Run(t, func(t *testing.T) memory.Store { return openStore(t, t.TempDir(), sqlitestore.Config{}) })
}

func TestMemoryLivesInContinuumDB(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir, sqlitestore.Config{})
	e := &memory.Entry{ID: "mem_1", Tier: memory.TierSlow, Kind: memory.KindInsight, Content: "kept", Importance: 0.5,
		CreatedAt: time.Now(), UpdatedAt: time.Now()}
	require.NoError(t, s.PutMemory(ctx, e, nil))
	require.NoError(t, s.Close())
	require.FileExists(t, filepath.Join(dir, sqlitestore.ContinuumFile))

	// Only continuum.db holds the table; the entry survives a reopen and a backup.
	db, err := sql.Open("sqlite", filepath.Join(dir, "aragora.db"))
	require.NoError(t, err)
	defer db.Close()
	var n int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'memory_entries'`).Scan(&n))
	require.Zero(t, n)
	again := openStore(t, dir, sqlitestore.Config{})
	got, err := again.GetMemory(ctx, "mem_1")
	require.NoError(t, err)
	require.Equal(t, "kept", got.Content)
	copyPath := filepath.Join(t.TempDir(), "continuum_copy.db")
	require.NoError(t, again.BackupContinuum(ctx, copyPath))
	restored := openStore(t, t.TempDir(), sqlitestore.Config{ContinuumPath: copyPath})
	got, err = restored.GetMemory(ctx, "mem_1")
	require.NoError(t, err)
	require.Equal(t, "kept", got.Content)
}

func TestUnknownStoredStatus(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	storetest.UnknownStoredStatus(t, openStore(t, dir, sqlitestore.Config{}), func(ctx context.Context) error {
		db, err := sql.Open("sqlite", filepath.Join(dir, "aragora.db"))
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = db.ExecContext(ctx, `UPDATE debates SET status = 'paused'; UPDATE checkpoints SET status = 'paused'`)
		return err
	})
}

func TestUnknownStoredNomicCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	storetest.UnknownStoredNomicCommand(t, openStore(t, dir, sqlitestore.Config{}), func(ctx context.Context, query string) error {
		db, err := sql.Open("sqlite", filepath.Join(dir, "aragora.db"))
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = db.ExecContext(ctx, query)
		return err
	})
}

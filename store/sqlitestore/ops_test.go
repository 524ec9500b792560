package sqlitestore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/sqlitestore"
	"github.com/aragora/aragora/store/storetest"
)

// TestTwoProcessesShareTheFile runs two Stores on one file, as `aragora
// serve` and `aragora debate` do, racing for every next seq.
func TestTwoProcessesShareTheFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	a := openStore(t, dir, sqlitestore.Config{})
	b := openStore(t, dir, sqlitestore.Config{})
	require.NoError(t, a.CreateDebate(ctx, &store.Debate{ID: "d1", Status: store.StatusRunning}))
	const target = 40
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for w, s := range []*sqlitestore.Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				d, err := s.GetDebate(ctx, "d1")
				if err != nil {
					errs <- err
					return
				}
				next := d.LastSeq + 1
				if next > target {
					return
				}
				err = s.SaveCheckpoint(ctx, &store.Checkpoint{DebateID: "d1", Round: int(next), Phase: fmt.Sprint("p", w), Seq: next,
					Status: store.StatusRunning, Events: []store.Event{{Seq: next, Type: "x", JSON: json.RawMessage(`{}`)}}})
				if err != nil && !errors.Is(err, store.ErrConflict) {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	evs, err := b.ListEvents(ctx, "d1", 0, 0)
	require.NoError(t, err)
	require.Len(t, evs, target)
	for i, e := range evs {
		assert.Equal(t, int64(i+1), e.Seq)
	}
}

// TestBackupWhileWriting copies the live database with VACUUM INTO while a
// writer appends, and the copy opens as a consistent store.
func TestBackupWhileWriting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir, sqlitestore.Config{})
	require.NoError(t, s.CreateDebate(ctx, &store.Debate{ID: "d1", Status: store.StatusRunning}))
	_, err := s.RecordMatch(ctx, store.Match{DebateID: "d1", Agents: []string{"a", "b"}, Winner: "a"})
	require.NoError(t, err)

	done := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		for seq := int64(1); seq <= 200; seq++ {
			if seq == 20 {
				close(started)
			}
			err := s.SaveCheckpoint(ctx, &store.Checkpoint{DebateID: "d1", Round: int(seq), Phase: "p", Seq: seq, Status: store.StatusRunning,
				Events: []store.Event{{Seq: seq, Type: "x", JSON: json.RawMessage(`{}`)}}})
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	<-started
	backupDir := t.TempDir()
	require.NoError(t, s.Backup(ctx, filepath.Join(backupDir, "aragora.db")))
	require.NoError(t, s.BackupRatings(ctx, filepath.Join(backupDir, sqlitestore.RatingsFile)))
	require.NoError(t, <-done)

	restored := openStore(t, backupDir, sqlitestore.Config{})
	d, err := restored.GetDebate(ctx, "d1")
	require.NoError(t, err)
	evs, err := restored.ListEvents(ctx, "d1", 0, 0)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, d.LastSeq, int64(19))
	assert.Len(t, evs, int(d.LastSeq), "record and log agree in the copy")
	list, err := restored.Ratings(ctx, "")
	require.NoError(t, err)
	assert.Len(t, list, 2)
}

// TestSchemaFromTheFuture simulates a rollback onto a schema migrated by a
// newer binary: additive extras are fine, others refuse to open.
func TestSchemaFromTheFuture(t *testing.T) {
	t.Parallel()
	storetest.CheckSchemaFromTheFuture(t, sqlitestore.ErrIncompatible, func(t *testing.T, additive bool) func() (int, error) {
		ctx := context.Background()
		dir := t.TempDir()
		s := openStore(t, dir, sqlitestore.Config{BinaryVersion: "0.8.0"})
		require.NoError(t, s.Close())
		db, err := sql.Open("sqlite", filepath.Join(dir, "aragora.db"))
		require.NoError(t, err)
		_, err = db.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (9999, 'future', ?, '0.9.1', '2030-01-01T00:00:00Z', '0.9.1')`, additive)
		require.NoError(t, err)
		require.NoError(t, db.Close())
		return func() (int, error) {
			again, err := sqlitestore.Open(ctx, filepath.Join(dir, "aragora.db"), sqlitestore.Config{BinaryVersion: "0.8.0"})
			if err != nil {
				return 0, err
			}
			pending, err := again.PendingMigrations(ctx)
			require.NoError(t, err)
			require.NoError(t, again.Close())
			return len(pending), nil
		}
	})
}

func TestPendingMigrations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir, sqlitestore.Config{SkipMigrations: true})
	pending, err := s.PendingMigrations(ctx)
	require.NoError(t, err)
	// Every store migration, in version order, then the ratings database's, then the continuum's.
	require.GreaterOrEqual(t, len(pending), 5)
	assert.Equal(t, sqlitestore.Migration{Database: "store", Version: 1, Name: "init", Additive: true, MinBinary: "0.8.0"}, pending[0])
	assert.Equal(t, sqlitestore.Migration{Database: "store", Version: 2, Name: "auth", Additive: true, MinBinary: "0.8.0"}, pending[1])
	assert.Equal(t, sqlitestore.Migration{Database: "store", Version: 3, Name: "issued_tokens", Additive: true, MinBinary: "0.8.0"}, pending[2])
	assert.Contains(t, pending, sqlitestore.Migration{Database: "store", Version: 4, Name: "lease_generation", Additive: true, MinBinary: "0.8.0"})
	for i := 1; i < len(pending) && pending[i].Database == "store"; i++ {
		assert.Less(t, pending[i-1].Version, pending[i].Version, "store migrations in version order")
	}
	assert.Contains(t, pending, sqlitestore.Migration{Database: "store", Version: 20, Name: "webhooks", Additive: true, MinBinary: "0.8.0"})
	assert.Equal(t, "ratings", pending[len(pending)-2].Database)
	assert.Equal(t, sqlitestore.Migration{Database: "continuum", Version: 30, Name: "memory", Additive: true, MinBinary: "0.8.0"}, pending[len(pending)-1])
	applied, err := s.Migrate(ctx)
	require.NoError(t, err)
	assert.Equal(t, pending, applied)
	pending, err = s.PendingMigrations(ctx)
	require.NoError(t, err)
	assert.Empty(t, pending)
}

func TestPoolStats(t *testing.T) {
	t.Parallel()
	s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "aragora.db"), sqlitestore.Config{})
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Ping(context.Background()))
	inUse, idle := s.PoolStats()
	assert.Zero(t, inUse, "nothing in flight")
	assert.Positive(t, idle, "the ping left pooled connections")
}

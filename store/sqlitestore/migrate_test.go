package sqlitestore_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/internal/sqlmigrate"
	"github.com/aragora/aragora/store/sqlitestore"
	"github.com/aragora/aragora/store/storetest"
)

// olderMigrations is what a binary from before the auth tables embeds:
// the store's 0001_init alone.
func olderMigrations(t *testing.T) fstest.MapFS {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("migrations", "main", "0001_init.sql"))
	require.NoError(t, err)
	return fstest.MapFS{"0001_init.sql": {Data: b}}
}

func TestEveryMigrationIsAdditive(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"main", "ratings", "continuum"} {
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			ms, err := sqlmigrate.Load(os.DirFS(filepath.Join("migrations", dir)))
			require.NoError(t, err)
			require.NotEmpty(t, ms)
			for _, m := range ms {
				assert.True(t, m.Additive, "%04d_%s", m.Version, m.Name)
			}
		})
	}
}

// TestOlderBinaryStartsAfterAuthMigration rolls back to a binary that does
// not know 0002_auth: the additive migration must not stop it.
func TestOlderBinaryStartsAfterAuthMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir, sqlitestore.Config{BinaryVersion: "0.9.0"})
	require.NoError(t, s.CreateUser(ctx, &store.User{ID: "usr_1", Email: "a@example.com", Role: "owner", PasswordHash: "h"}))
	require.NoError(t, s.Close())

	db, err := sql.Open("sqlite", filepath.Join(dir, "aragora.db"))
	require.NoError(t, err)
	defer db.Close()
	older := olderMigrations(t)
	pending, err := sqlmigrate.Pending(ctx, db, sqlmigrate.SQLite, older, "0.8.0")
	require.NoError(t, err)
	assert.Empty(t, pending)
	applied, err := sqlmigrate.Up(ctx, db, sqlmigrate.SQLite, older, "0.8.0")
	require.NoError(t, err)
	assert.Empty(t, applied)
}

// TestUpgradeAddsAuthTables opens a schema an older binary created with
// the current binary: 0002_auth is applied and the debates are kept.
func TestUpgradeAddsAuthTables(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	db := olderDatabase(t, dir, olderMigrations(t))
	_, err := db.ExecContext(ctx, `INSERT INTO debates (id, status, created_at, updated_at) VALUES ('d1', 'pending', '2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.000000Z')`)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	s := openStore(t, dir, sqlitestore.Config{})
	_, err = s.GetDebate(ctx, "d1")
	require.NoError(t, err)
	require.NoError(t, s.CreateFirstUser(ctx, &store.User{ID: "usr_1", Email: "a@example.com", Role: "owner", PasswordHash: "h"}))
	n, err := s.CountUsers(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

// TestUpgradeKeysExistingUsage: migration 0005 keys the usage rows of a
// database written by a binary from before it.
func TestUpgradeKeysExistingUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := olderDatabase(t, dir, storetest.MigrationsBefore(t, filepath.Join("migrations", "main"), 5))
	storetest.CheckUsageKeysAfterUpgrade(t, db, func() store.UsageStore { return openStore(t, dir, sqlitestore.Config{}) })
}

// olderDatabase creates dir/aragora.db as a binary embedding migrations
// leaves it; it is closed when the test ends.
func olderDatabase(t *testing.T, dir string, migrations fstest.MapFS) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, "aragora.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	_, err = sqlmigrate.Up(context.Background(), db, sqlmigrate.SQLite, migrations, "0.8.0")
	require.NoError(t, err)
	return db
}

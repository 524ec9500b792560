package pgstore_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/internal/sqlmigrate"
	"github.com/aragora/aragora/store/pgstore"
	"github.com/aragora/aragora/store/storetest"
)

// olderMigrations is what a binary from before the auth tables embeds.
func olderMigrations(t *testing.T) fstest.MapFS {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("migrations", "0001_init.sql"))
	require.NoError(t, err)
	return fstest.MapFS{"0001_init.sql": {Data: b}}
}

func TestEveryMigrationIsAdditive(t *testing.T) {
	ms, err := sqlmigrate.Load(os.DirFS("migrations"))
	require.NoError(t, err)
	require.NotEmpty(t, ms)
	for _, m := range ms {
		assert.True(t, m.Additive, "%04d_%s", m.Version, m.Name)
	}
}

// schemaPool connects with search_path set to schema, creating it.
func schemaPool(t *testing.T, dsn, schema string) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	pc, err := pgxpool.ParseConfig(dsn)
	require.NoError(t, err)
	pc.MaxConns = 2
	pc.ConnConfig.RuntimeParams["search_path"] = schema
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	_, err = pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize())
	require.NoError(t, err)
	return pool
}

// TestOlderBinaryStartsAfterAuthMigration rolls back to a binary that does
// not know 0002_auth: the additive migration must not stop it.
func TestOlderBinaryStartsAfterAuthMigration(t *testing.T) {
	d := dsn(t)
	ctx := context.Background()
	schema := freshSchema(t, d)
	s := openStore(t, pgstore.Config{Schema: schema, BinaryVersion: "0.9.0"})
	require.NoError(t, s.CreateUser(ctx, &store.User{ID: "usr_1", Email: "a@example.com", Role: "owner", PasswordHash: "h"}))
	require.NoError(t, s.Close())

	db := stdlib.OpenDBFromPool(schemaPool(t, d, schema))
	defer db.Close()
	pending, err := sqlmigrate.Pending(ctx, db, sqlmigrate.Postgres, olderMigrations(t), "0.8.0")
	require.NoError(t, err)
	assert.Empty(t, pending)
	applied, err := sqlmigrate.Up(ctx, db, sqlmigrate.Postgres, olderMigrations(t), "0.8.0")
	require.NoError(t, err)
	assert.Empty(t, applied)
}

// TestUpgradeAddsAuthTables opens a schema an older binary created: the
// auth migration is applied and the debates are kept.
func TestUpgradeAddsAuthTables(t *testing.T) {
	d := dsn(t)
	ctx := context.Background()
	schema := freshSchema(t, d)
	_, pool := olderSchema(t, d, schema, olderMigrations(t))
	_, err := pool.Exec(ctx, `INSERT INTO debates (id, status, created_at, updated_at) VALUES ('d1', 'pending', now(), now())`)
	require.NoError(t, err)

	s := openStore(t, pgstore.Config{Schema: schema})
	_, err = s.GetDebate(ctx, "d1")
	require.NoError(t, err)
	require.NoError(t, s.CreateFirstUser(ctx, &store.User{ID: "usr_1", Email: "a@example.com", Role: "owner", PasswordHash: "h"}))
	require.NoError(t, s.AppendAudit(ctx, &store.AuditEntry{ID: "aud_1", Action: "auth.register", Outcome: store.OutcomeSuccess}))
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log`).Scan(&n), "audit_log lives in the configured schema")
	assert.Equal(t, 1, n)
}

// TestUpgradeKeysExistingUsage: migration 0005 keys the usage rows of a
// schema written by a binary from before it.
func TestUpgradeKeysExistingUsage(t *testing.T) {
	d := dsn(t)
	schema := freshSchema(t, d)
	db, _ := olderSchema(t, d, schema, storetest.MigrationsBefore(t, "migrations", 5))
	storetest.CheckUsageKeysAfterUpgrade(t, db, func() store.UsageStore { return openStore(t, pgstore.Config{Schema: schema}) })
}

// olderSchema creates schema as a binary embedding migrations leaves it;
// the connections are closed when the test ends.
func olderSchema(t *testing.T, dsn, schema string, migrations fstest.MapFS) (*sql.DB, *pgxpool.Pool) {
	t.Helper()
	pool := schemaPool(t, dsn, schema)
	db := stdlib.OpenDBFromPool(pool)
	t.Cleanup(func() { _ = db.Close() })
	_, err := sqlmigrate.Up(context.Background(), db, sqlmigrate.Postgres, migrations, "0.8.0")
	require.NoError(t, err)
	return db, pool
}

package pgstore_test

import (
	"context"
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
	pool := schemaPool(t, d, schema)
	db := stdlib.OpenDBFromPool(pool)
	_, err := sqlmigrate.Up(ctx, db, sqlmigrate.Postgres, olderMigrations(t), "0.8.0")
	require.NoError(t, err)
	require.NoError(t, db.Close())
	_, err = pool.Exec(ctx, `INSERT INTO debates (id, status, created_at, updated_at) VALUES ('d1', 'pending', now(), now())`)
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

package storetest

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/internal/sqlmigrate"
)

// MigrationsBefore returns the migrations in dir older than version, as a
// binary from before that version embeds them.
func MigrationsBefore(t *testing.T, dir string, version int) fstest.MapFS {
	t.Helper()
	ms, err := sqlmigrate.Load(os.DirFS(dir))
	require.NoError(t, err)
	out := fstest.MapFS{}
	for _, m := range ms {
		if m.Version < version {
			name := fmt.Sprintf("%04d_%s.sql", m.Version, m.Name)
			b, err := os.ReadFile(filepath.Join(dir, name))
			require.NoError(t, err)
			out[name] = &fstest.MapFile{Data: b}
		}
	}
	return out
}

// legacyUsageInsert is a usage row as a binary from before migration 0005
// writes it, without an idempotency key (the same SQL on SQLite and
// Postgres).
const legacyUsageInsert = `INSERT INTO usage_records (user_id, provider, model, tokens_in, tokens_out, cost_usd, debate_id, at)
	VALUES ('usr_1', 'demo', 'm', 10, 1, 0.5, 'deb_1', '2025-01-01T00:00:00.000000Z')`

// CheckUsageKeysAfterUpgrade checks migration 0005 (usage idempotency
// keys) on db, a database migrated to 0004 only: two identical usage rows
// written before it each get a key of their own (and stay two), a binary
// that does not know the key still writes rows, and a keyed record written
// twice is counted once. open opens the store on db, applying the
// migrations.
func CheckUsageKeysAfterUpgrade(t *testing.T, db *sql.DB, open func() store.UsageStore) {
	t.Helper()
	ctx := ctxT(t)
	for range 2 {
		_, err := db.ExecContext(ctx, legacyUsageInsert)
		require.NoError(t, err)
	}
	s := open()
	var n, keys int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT idempotency_key) FROM usage_records`).Scan(&n, &keys))
	assert.Equal(t, 2, n)
	assert.Equal(t, 2, keys, "every existing row has a key of its own")
	for range 2 {
		_, err := db.ExecContext(ctx, legacyUsageInsert) // an older binary, after the upgrade
		require.NoError(t, err)
	}
	r := store.UsageRecord{ID: "usg_new", UserID: "usr_1", Provider: "demo", Model: "m", TokensIn: 10, TokensOut: 1, CostUSD: 0.5, DebateID: "deb_1",
		At: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	require.NoError(t, s.RecordUsage(ctx, &r))
	require.NoError(t, s.RecordUsage(ctx, &r))
	b, err := s.AggregateUsage(ctx, store.UsageFilter{UserID: "usr_1", From: r.At.Add(-time.Hour), To: r.At.Add(time.Hour)})
	require.NoError(t, err)
	require.Len(t, b, 1)
	assert.Equal(t, int64(5), b[0].Requests, "two upgraded rows, two from the older binary, usg_new once")
}

// CheckSchemaFromTheFuture simulates a rollback onto a schema migrated by a
// newer binary (0.9.1): an additive extra migration is fine (the store opens
// with nothing pending), another refuses to open with an error wrapping
// incompatible that names 0.9.1. For each case, future records such a
// migration (additive or not) in a fresh database and returns reopen, which
// opens that database again as binary 0.8.0, closes it, and returns how
// many migrations it had pending.
func CheckSchemaFromTheFuture(t *testing.T, incompatible error, future func(t *testing.T, additive bool) (reopen func() (pending int, err error))) {
	t.Helper()
	for _, additive := range []bool{true, false} {
		t.Run(fmt.Sprint("additive=", additive), func(t *testing.T) {
			pending, err := future(t, additive)()
			if additive {
				require.NoError(t, err)
				assert.Zero(t, pending)
				return
			}
			require.ErrorIs(t, err, incompatible)
			assert.Contains(t, err.Error(), "0.9.1")
		})
	}
}

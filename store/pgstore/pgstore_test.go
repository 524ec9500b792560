package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/memory"
	"github.com/aragora/aragora/memory/memorytest"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/pgstore"
	"github.com/aragora/aragora/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func dsn(t *testing.T) string {
	t.Helper()
	return dsnOrSkip(t)
}

func dsnOrSkip(t testing.TB) string {
	t.Helper()
	d := os.Getenv("ARAGORA_TEST_POSTGRES_URL")
	if d == "" {
		t.Skip("set ARAGORA_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run the Postgres tests")
	}
	return d
}

// freshSchema names a new schema and drops it when the test ends.
func freshSchema(t *testing.T, dsn string) string {
	t.Helper()
	return freshSchemaTB(t, dsn)
}

func freshSchemaTB(t testing.TB, dsn string) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "aragora_test_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

func openStore(t *testing.T, cfg pgstore.Config) *pgstore.Store {
	t.Helper()
	d := dsn(t)
	if cfg.Schema == "" {
		cfg.Schema = freshSchema(t, d)
	}
	if cfg.PoolSize == 0 {
		cfg.PoolSize, cfg.MaxOverflow = 1, 3
	}
	s, err := pgstore.Open(context.Background(), d, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	dsn(t)
	storetest.Run(t, func(t *testing.T) store.DebateStore { return openStore(t, pgstore.Config{}) })
}

func TestMemoryConformance(t *testing.T) {
	dsn(t)
	memorytest.Run(t, func(t *testing.T) memory.Store { return openStore(t, pgstore.Config{}) })
}

// TestUnknownStoredStatus: a status column holding a name that is not a
// store.Status is reported as such by every read of the row.
func TestUnknownStoredStatus(t *testing.T) {
	d := dsn(t)
	ctx := context.Background()
	schema := freshSchema(t, d)
	s := openStore(t, pgstore.Config{Schema: schema})
	require.NoError(t, s.CreateDebate(ctx, &store.Debate{ID: "d1", Status: store.StatusRunning}))
	require.NoError(t, s.SaveCheckpoint(ctx, &store.Checkpoint{DebateID: "d1", Phase: "init", Seq: 1, Status: store.StatusRunning,
		Events: []store.Event{{Seq: 1, Type: "debate_start", JSON: []byte(`{"seq":1}`)}}}))
	pool := schemaPool(t, d, schema)
	_, err := pool.Exec(ctx, `UPDATE debates SET status = 'paused'`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE checkpoints SET status = 'paused'`)
	require.NoError(t, err)

	const want = `store: debate status "paused" is unknown`
	_, err = s.GetDebate(ctx, "d1")
	require.ErrorContains(t, err, want)
	_, err = s.ListDebates(ctx, store.Filter{})
	require.ErrorContains(t, err, want)
	_, err = s.LatestCheckpoint(ctx, "d1")
	require.ErrorContains(t, err, want)
	err = s.UpdateStatus(ctx, "d1", nil, store.StatusFailed, time.Now())
	require.ErrorContains(t, err, want)
}

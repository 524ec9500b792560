package pgstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/internal/testenv"
	"github.com/aragora/aragora/memory"
	"github.com/aragora/aragora/memory/memorytest"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/pgstore"
	"github.com/aragora/aragora/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func dsn(t testing.TB) string {
	t.Helper()
	return testenv.PostgresURL(t, "the Postgres tests")
}

// freshSchema names a new schema and drops it when the test ends.
func freshSchema(t testing.TB, dsn string) string {
	t.Helper()
	return testenv.FreshSchema(t, dsn, "aragora_test_")
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

// openNamed opens a store on a fresh schema (cfg.Schema, when empty)
// whose connections carry an application name of its own, which it returns:
// pg_stat_activity tells them apart from the other tests'.
func openNamed(t *testing.T, prefix string, cfg pgstore.Config) (*pgstore.Store, string) {
	t.Helper()
	d := dsn(t)
	if cfg.Schema == "" {
		cfg.Schema = freshSchema(t, d)
	}
	app := prefix + cfg.Schema[len("aragora_test_"):]
	s, err := pgstore.Open(context.Background(), testenv.WithApplicationName(t, d, app), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s, app
}

func TestConformance(t *testing.T) {
	dsn(t)
	storetest.Run(t, func(t *testing.T) store.DebateStore { return openStore(t, pgstore.Config{}) })
}

func TestMemoryConformance(t *testing.T) {
	dsn(t)
	memorytest.Run(t, func(t *testing.T) memory.Store { return openStore(t, pgstore.Config{}) })
}

func TestUnknownStoredStatus(t *testing.T) {
	d := dsn(t)
	schema := freshSchema(t, d)
	pool := schemaPool(t, d, schema)
	storetest.UnknownStoredStatus(t, openStore(t, pgstore.Config{Schema: schema}), func(ctx context.Context) error {
		_, err := pool.Exec(ctx, `UPDATE debates SET status = 'paused'`)
		if err == nil {
			_, err = pool.Exec(ctx, `UPDATE checkpoints SET status = 'paused'`)
		}
		return err
	})
}

func TestUnknownStoredNomicCommand(t *testing.T) {
	d := dsn(t)
	schema := freshSchema(t, d)
	pool := schemaPool(t, d, schema)
	storetest.UnknownStoredNomicCommand(t, openStore(t, pgstore.Config{Schema: schema}), func(ctx context.Context, query string) error {
		_, err := pool.Exec(ctx, query)
		return err
	})
}

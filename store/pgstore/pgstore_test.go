package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

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

package pgstore_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/store/pgstore"
	"github.com/aragora/aragora/store/storetest"
)

// BenchmarkSaveCheckpoint appends batches of 10 events through the store.
func BenchmarkSaveCheckpoint(b *testing.B) {
	d := dsn(b)
	s, err := pgstore.Open(context.Background(), d, pgstore.Config{Schema: freshSchema(b, d), PoolSize: 2})
	require.NoError(b, err)
	defer s.Close()
	storetest.BenchmarkSaveCheckpoint(b, s)
}

// BenchmarkRawInsert is the baseline: 10 INSERTs per transaction with pgx,
// one statement per round trip, no checks.
func BenchmarkRawInsert(b *testing.B) {
	ctx := context.Background()
	d := dsn(b)
	schema := freshSchema(b, d)
	s, err := pgstore.Open(ctx, d, pgstore.Config{Schema: schema, PoolSize: 2})
	require.NoError(b, err)
	defer s.Close()
	pool := s.Pool()
	_, err = pool.Exec(ctx, `CREATE TABLE raw_events (debate_id TEXT NOT NULL, seq BIGINT NOT NULL, type TEXT NOT NULL, data BYTEA NOT NULL, PRIMARY KEY (debate_id, seq))`)
	require.NoError(b, err)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			for j := range 10 {
				if _, err := tx.Exec(ctx, `INSERT INTO raw_events (debate_id, seq, type, data) VALUES ($1, $2, $3, $4)`, "d1", i*10+j+1, "critique", []byte(storetest.BenchEventJSON)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*10)/b.Elapsed().Seconds(), "events/s")
}

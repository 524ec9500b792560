package sqlitestore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/store/sqlitestore"
	"github.com/aragora/aragora/store/storetest"
)

// BenchmarkSaveCheckpoint appends batches of 10 events through the store.
func BenchmarkSaveCheckpoint(b *testing.B) {
	s, err := sqlitestore.Open(context.Background(), filepath.Join(b.TempDir(), "aragora.db"), sqlitestore.Config{})
	require.NoError(b, err)
	defer s.Close()
	storetest.BenchmarkSaveCheckpoint(b, s)
}

// BenchmarkRawInsert is the baseline: the same 10 rows per transaction with
// the same driver and pragmas, no checks.
func BenchmarkRawInsert(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "raw.db")
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(5000)&_txlock=immediate")
	require.NoError(b, err)
	defer db.Close()
	db.SetMaxOpenConns(1)
	_, err = db.ExecContext(ctx, `CREATE TABLE debate_events (debate_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (debate_id, seq)) WITHOUT ROWID`)
	require.NoError(b, err)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		for j := range 10 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO debate_events (debate_id, seq, type, data) VALUES (?, ?, ?, ?)`, "d1", i*10+j+1, "critique", []byte(storetest.BenchEventJSON)); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*10)/b.Elapsed().Seconds(), "events/s")
}

package sqlitestore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/sqlitestore"
)

var benchJSON = json.RawMessage(`{"seq":0,"type":"critique","round":1,"agent":"gpt-4","data":{"issues":["a","b"],"severity":6.5}}`)

// BenchmarkSaveCheckpoint appends batches of 10 events through the store.
func BenchmarkSaveCheckpoint(b *testing.B) {
	ctx := context.Background()
	s, err := sqlitestore.Open(ctx, filepath.Join(b.TempDir(), "aragora.db"), sqlitestore.Config{})
	require.NoError(b, err)
	defer s.Close()
	require.NoError(b, s.CreateDebate(ctx, &store.Debate{ID: "d1", Status: store.StatusRunning}))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		cp := &store.Checkpoint{DebateID: "d1", Round: i, Phase: "critique", Seq: int64(i+1) * 10, Status: store.StatusRunning, State: json.RawMessage(`{}`)}
		for j := range 10 {
			cp.Events = append(cp.Events, store.Event{Seq: int64(i*10 + j + 1), Type: "critique", JSON: benchJSON})
		}
		if err := s.SaveCheckpoint(ctx, cp); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*10)/b.Elapsed().Seconds(), "events/s")
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
			if _, err := tx.ExecContext(ctx, `INSERT INTO debate_events (debate_id, seq, type, data) VALUES (?, ?, ?, ?)`, "d1", i*10+j+1, "critique", []byte(benchJSON)); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*10)/b.Elapsed().Seconds(), "events/s")
}

package bench

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/memstore"
	"github.com/aragora/aragora/store/pgstore"
	"github.com/aragora/aragora/store/sqlitestore"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite" // the driver sqlitestore uses, for the raw baseline
)

// StoreConfig sizes the store scenario. The zero value writes 10-event
// batches for 2 s per backend and skips Postgres when PostgresURL is empty.
type StoreConfig struct {
	PostgresURL string
	Batch       int // events per checkpoint; default 10
	Duration    time.Duration
}

func (c StoreConfig) withDefaults() StoreConfig {
	if c.Batch == 0 {
		c.Batch = 10
	}
	if c.Duration == 0 {
		c.Duration = 2 * time.Second
	}
	return c
}

// eventJSON is a realistic stored proposal event (~450 bytes).
func eventJSON(id string, seq int64) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"seq": seq, "epoch": "q7c2m9", "debate_id": id, "type": "proposal", "round": 1, "agent": "demo-a",
		"ts": time.Now().UTC().Format(time.RFC3339Nano), "data": map[string]any{
			"content": strings.Repeat("Adopt a staged migration with a 90-day pilot and a rollback plan. ", 4), "revised": false,
			"tokens": map[string]int{"input": 812, "output": 143}, "cost_usd": 0.001234, "latency_ms": 812,
			"evidence": map[string]float64{"citation": 0, "specificity": 0.5, "diversity": 0.33, "temporal": 0.8, "reasoning": 1, "overall": 0.52}}})
	return b
}

var stateJSON = json.RawMessage(`{"round":1,"phase":"propose","proposals":{` + strings.Repeat(`"demo-x":"`+strings.Repeat("p", 300)+`",`, 5) + `"end":""}}`)

// appendLoop saves checkpoints of batch events for d and returns events/s
// and the per-checkpoint latencies.
func appendLoop(ctx context.Context, cp store.Checkpointer, ds store.DebateStore, id string, batch int, d time.Duration) (float64, []time.Duration, error) {
	now := time.Now()
	if err := ds.CreateDebate(ctx, &store.Debate{ID: id, Topic: question, Status: store.StatusRunning, Owner: "bench", CreatedAt: now, UpdatedAt: now, StartedAt: now}); err != nil {
		return 0, nil, err
	}
	var lats []time.Duration
	var seq int64
	start := time.Now()
	for round := 1; time.Since(start) < d; round++ {
		c := &store.Checkpoint{DebateID: id, Round: round, Phase: "propose", Status: store.StatusRunning, State: stateJSON, CreatedAt: time.Now()}
		for range batch {
			seq++
			c.Events = append(c.Events, store.Event{DebateID: id, Seq: seq, Type: "proposal", JSON: eventJSON(id, seq)})
		}
		c.Seq = seq
		t0 := time.Now()
		if err := cp.SaveCheckpoint(ctx, c); err != nil {
			return 0, nil, err
		}
		lats = append(lats, time.Since(t0))
	}
	return float64(seq) / time.Since(start).Seconds(), lats, nil
}

// rawLoop runs insert(batchOfEvents) for d and returns events/s and latencies.
func rawLoop(ctx context.Context, id string, batch int, d time.Duration, insert func(ctx context.Context, evs []store.Event) error) (float64, []time.Duration, error) {
	var lats []time.Duration
	var seq int64
	start := time.Now()
	for time.Since(start) < d {
		evs := make([]store.Event, 0, batch)
		for range batch {
			seq++
			evs = append(evs, store.Event{DebateID: id, Seq: seq, Type: "proposal", JSON: eventJSON(id, seq)})
		}
		t0 := time.Now()
		if err := insert(ctx, evs); err != nil {
			return 0, nil, err
		}
		lats = append(lats, time.Since(t0))
	}
	return float64(seq) / time.Since(start).Seconds(), lats, nil
}

func storeRows(backend, baseline string, batch int, evs float64, lats []time.Duration, rawEvs float64, rawLats []time.Duration) []Row {
	c := fmt.Sprintf("%s, SaveCheckpoint with %d-event batches", backend, batch)
	return []Row{
		{Scenario: "store", Case: c, Metric: "events/s", Value: evs, Baseline: baseline + " events/s", BaselineValue: rawEvs},
		{Scenario: "store", Case: c, Metric: "batch p50 (ms)", Value: ms(percentile(lats, 50)), Baseline: baseline + " p50 (ms)", BaselineValue: ms(percentile(rawLats, 50))},
		{Scenario: "store", Case: c, Metric: "batch p99 (ms)", Value: ms(percentile(lats, 99)), Baseline: baseline + " p99 (ms)", BaselineValue: ms(percentile(rawLats, 99))},
	}
}

// Store measures event append (SaveCheckpoint) per backend next to a raw
// insert loop with the same driver: memstore vs a mutex-guarded slice,
// sqlitestore vs database/sql + modernc.org/sqlite with the same pragmas,
// pgstore vs pgxpool, each raw loop inserting the same events in one
// transaction per batch.
func Store(ctx context.Context, cfg StoreConfig) (Table, error) {
	cfg = cfg.withDefaults()
	var t Table

	// memstore
	ms := memstore.New()
	evs, lats, err := appendLoop(ctx, ms, ms, "deb_mem", cfg.Batch, cfg.Duration)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	var log []store.Event
	rEvs, rLats, err := rawLoop(ctx, "deb_raw", cfg.Batch, cfg.Duration, func(_ context.Context, b []store.Event) error {
		mu.Lock()
		log = append(log, b...)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	t = append(t, storeRows("memstore", "mutex+slice append", cfg.Batch, evs, lats, rEvs, rLats)...)

	// sqlitestore
	dir, err := os.MkdirTemp("", "aragora-bench-store-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ss, err := sqlitestore.Open(ctx, filepath.Join(dir, "aragora.db"), sqlitestore.Config{})
	if err != nil {
		return nil, err
	}
	evs, lats, err = appendLoop(ctx, ss, ss, "deb_sqlite", cfg.Batch, cfg.Duration)
	ss.Close()
	if err != nil {
		return nil, err
	}
	rEvs, rLats, err = rawSQLite(ctx, filepath.Join(dir, "raw.db"), cfg)
	if err != nil {
		return nil, err
	}
	t = append(t, storeRows("sqlitestore", "raw database/sql INSERT tx", cfg.Batch, evs, lats, rEvs, rLats)...)

	if cfg.PostgresURL == "" {
		return t, nil
	}
	rows, err := storePostgres(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return append(t, rows...), nil
}

func rawSQLite(ctx context.Context, path string, cfg StoreConfig) (float64, []time.Duration, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_txlock", "immediate")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return 0, nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE debate_events (debate_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL,
		data BLOB NOT NULL, PRIMARY KEY (debate_id, seq)) WITHOUT ROWID`); err != nil {
		return 0, nil, err
	}
	return rawLoop(ctx, "deb_raw", cfg.Batch, cfg.Duration, func(ctx context.Context, evs []store.Event) error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		for _, e := range evs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO debate_events (debate_id, seq, type, data) VALUES (?, ?, ?, ?)`,
				e.DebateID, e.Seq, e.Type, []byte(e.JSON)); err != nil {
				return err
			}
		}
		return tx.Commit()
	})
}

func storePostgres(ctx context.Context, cfg StoreConfig) (Table, error) {
	schema := fmt.Sprintf("aragora_bench_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6)
	pool, err := pgxpool.New(ctx, cfg.PostgresURL)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	defer pool.Exec(context.WithoutCancel(ctx), `DROP SCHEMA IF EXISTS `+schema+` CASCADE`)
	ps, err := pgstore.Open(ctx, cfg.PostgresURL, pgstore.Config{Schema: schema})
	if err != nil {
		return nil, err
	}
	evs, lats, err := appendLoop(ctx, ps, ps, "deb_pg", cfg.Batch, cfg.Duration)
	ps.Close()
	if err != nil {
		return nil, err
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE `+schema+`.raw_events (debate_id TEXT NOT NULL, seq BIGINT NOT NULL, type TEXT NOT NULL,
		data BYTEA NOT NULL, PRIMARY KEY (debate_id, seq))`); err != nil {
		return nil, err
	}
	rEvs, rLats, err := rawLoop(ctx, "deb_raw", cfg.Batch, cfg.Duration, func(ctx context.Context, b []store.Event) error {
		tx, err := pool.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx)
		for _, e := range b {
			if _, err := tx.Exec(ctx, `INSERT INTO `+schema+`.raw_events (debate_id, seq, type, data) VALUES ($1, $2, $3, $4)`,
				e.DebateID, e.Seq, e.Type, []byte(e.JSON)); err != nil {
				return err
			}
		}
		return tx.Commit(ctx)
	})
	if err != nil {
		return nil, err
	}
	return storeRows("pgstore", "raw pgx INSERT tx", cfg.Batch, evs, lats, rEvs, rLats), nil
}

package pgstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/internal/testenv"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/pgstore"
	"github.com/aragora/aragora/store/storetest"
)

// terminate kills every backend whose application_name is app, as an
// operator's pg_terminate_backend or a failover would.
func terminate(t *testing.T, dsn, app string) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var n int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n))
	return n
}

func batch(id string, round int, from int64, n int) *store.Checkpoint {
	cp := &store.Checkpoint{DebateID: id, Round: round, Phase: "propose", Status: store.StatusRunning, State: json.RawMessage(`{}`)}
	for i := range n {
		seq := from + int64(i)
		cp.Events = append(cp.Events, store.Event{Seq: seq, Type: "proposal", JSON: json.RawMessage(fmt.Sprintf(`{"seq":%d}`, seq))})
	}
	cp.Seq = from + int64(n) - 1
	return cp
}

// TestConnectionCutMidDebate terminates the pool's backends between
// checkpoint writes: the store resets its pool and retries once, so every
// write succeeds and no event is lost or duplicated.
func TestConnectionCutMidDebate(t *testing.T) {
	d := dsn(t)
	app := "aragora_cut_" + freshSchema(t, d)[len("aragora_test_"):]
	schema := freshSchema(t, d)
	s := openStore(t, pgstore.Config{Schema: schema, PoolSize: 2, MaxOverflow: 2})
	_ = s.Close()
	s, err := pgstore.Open(context.Background(), testenv.WithApplicationName(t, d, app), pgstore.Config{Schema: schema, PoolSize: 2, MaxOverflow: 2})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })

	ctx := context.Background()
	require.NoError(t, s.CreateDebate(ctx, &store.Debate{ID: "d1", Status: store.StatusRunning}))
	const rounds, per = 12, 10
	killed := 0
	for r := range rounds {
		if r == 4 || r == 8 {
			killed += terminate(t, d, app)
		}
		require.NoError(t, s.SaveCheckpoint(ctx, batch("d1", r, int64(r*per+1), per)), "round %d", r)
	}
	require.Positive(t, killed, "the test killed live connections")
	evs, err := s.ListEvents(ctx, "d1", 0, 0)
	require.NoError(t, err)
	require.Len(t, evs, rounds*per)
	for i, e := range evs {
		assert.Equal(t, int64(i+1), e.Seq)
	}
	got, err := s.GetDebate(ctx, "d1")
	require.NoError(t, err)
	assert.Equal(t, int64(rounds*per), got.LastSeq)

	// Reads recover too.
	terminate(t, d, app)
	_, err = s.GetDebate(ctx, "d1")
	require.NoError(t, err)
	require.NoError(t, s.Ping(ctx))
}

func TestPoolSizing(t *testing.T) {
	s := openStore(t, pgstore.Config{PoolSize: 3, MaxOverflow: 2})
	assert.Equal(t, int32(5), s.Pool().Config().MaxConns)
	assert.Equal(t, int32(3), s.Pool().Config().MinConns)
	none := openStore(t, pgstore.Config{PoolSize: 2, MaxOverflow: -1})
	assert.Equal(t, int32(2), none.Pool().Config().MaxConns)
}

func TestSchemaFromTheFuture(t *testing.T) {
	storetest.CheckSchemaFromTheFuture(t, pgstore.ErrIncompatible, func(t *testing.T, additive bool) func() (int, error) {
		d := dsn(t)
		schema := freshSchema(t, d)
		s := openStore(t, pgstore.Config{Schema: schema, BinaryVersion: "0.8.0"})
		_, err := s.Pool().Exec(context.Background(),
			`INSERT INTO schema_migrations VALUES (9999, 'future', $1, '0.9.1', '2030-01-01T00:00:00Z', '0.9.1')`, additive)
		require.NoError(t, err)
		require.NoError(t, s.Close())
		return func() (int, error) {
			again, err := pgstore.Open(context.Background(), d, pgstore.Config{Schema: schema, PoolSize: 1, BinaryVersion: "0.8.0"})
			if err != nil {
				return 0, err
			}
			pending, err := again.PendingMigrations(context.Background())
			require.NoError(t, err)
			require.NoError(t, again.Close())
			return len(pending), nil
		}
	})
}

func TestTablesLiveInTheSchema(t *testing.T) {
	d := dsn(t)
	schema := freshSchema(t, d)
	openStore(t, pgstore.Config{Schema: schema})
	conn, err := pgx.Connect(context.Background(), d)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var tables []string
	rows, err := conn.Query(context.Background(), `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`, schema)
	require.NoError(t, err)
	tables, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	assert.Subset(t, tables, []string{"agent_ratings", "api_keys", "audit_log", "checkpoints", "debate_events", "debates", "idempotency_keys", "issued_tokens",
		"jwt_keys", "rating_matches", "revoked_tokens", "schema_migrations", "token_generation", "token_versions", "usage_records", "users",
		"webhook_deliveries", "webhook_endpoints", "webhook_messages"}, "every table lives in the configured schema")
}

// TestReplicasOpenOneFreshSchemaTogether opens one fresh schema from
// several stores at once, as replicas started together do: every Open
// succeeds (none loses the race to create the schema) and the migrations
// are applied once.
func TestReplicasOpenOneFreshSchemaTogether(t *testing.T) {
	d := dsn(t)
	schema := freshSchema(t, d)
	const n = 4
	errs := make(chan error, n)
	for range n {
		go func() {
			st, err := pgstore.Open(context.Background(), d, pgstore.Config{Schema: schema, PoolSize: 1})
			if err == nil {
				st.Close()
			}
			errs <- err
		}()
	}
	for range n {
		require.NoError(t, <-errs)
	}
}

// TestIdleTransactionsEnd checks that the store's connections end a
// transaction left idle (a process frozen inside it would otherwise hold
// its row locks, and a peer's claim of its debate would wait on them),
// and that a DSN setting wins.
func TestIdleTransactionsEnd(t *testing.T) {
	st := openStore(t, pgstore.Config{})
	var v string
	require.NoError(t, st.Pool().QueryRow(context.Background(), `SHOW idle_in_transaction_session_timeout`).Scan(&v))
	assert.Equal(t, "10s", v)

	u, err := url.Parse(dsn(t))
	require.NoError(t, err)
	q := u.Query()
	q.Set("idle_in_transaction_session_timeout", "1min")
	u.RawQuery = q.Encode()
	st2, err := pgstore.Open(context.Background(), u.String(), pgstore.Config{Schema: freshSchema(t, dsn(t)), PoolSize: 1})
	require.NoError(t, err)
	defer st2.Close()
	require.NoError(t, st2.Pool().QueryRow(context.Background(), `SHOW idle_in_transaction_session_timeout`).Scan(&v))
	assert.Equal(t, "1min", v)
}

package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/pgstore"
)

// TestClaimRefusedWhileTheRowIsLocked freezes a lease holder inside a
// transaction that locks its debate's row, as a replica paused (SIGSTOP)
// mid-checkpoint does, and lets the lease expire: a peer's claim is refused
// with ErrConflict at once instead of waiting on the lock. A claim that
// waited (until Postgres ends the idle transaction, 10 s later) would
// grant a lease timed from its now, before the wait: already expired
// when granted, so the next sweep of another peer would claim the debate
// again (docs/SCALING.md#failure-modes). Once the transaction ended, the
// claim succeeds, one generation up.
func TestClaimRefusedWhileTheRowIsLocked(t *testing.T) {
	d := dsn(t)
	schema := freshSchema(t, d)
	st, app := openNamed(t, "aragora_claim_", pgstore.Config{Schema: schema, PoolSize: 1, MaxOverflow: 1})
	ctx := context.Background()
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	const ttl = 2 * time.Second
	require.NoError(t, st.CreateDebate(ctx, &store.Debate{ID: "d1", Status: store.StatusRunning, CreatedAt: base, UpdatedAt: base}))
	_, err := st.ClaimDebate(ctx, "d1", "frozen", base, ttl)
	require.NoError(t, err)

	pool := schemaPool(t, d, schema)
	frozen, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = frozen.Rollback(ctx) }()
	_, err = frozen.Exec(ctx, `SELECT 1 FROM debates WHERE id = 'd1' FOR UPDATE`)
	require.NoError(t, err)

	type claim struct {
		d   *store.Debate
		err error
	}
	claimed := make(chan claim, 1)
	later := base.Add(ttl + time.Second) // the frozen holder's lease has expired
	go func() {
		d, err := st.ClaimDebate(ctx, "d1", "peer", later, ttl)
		claimed <- claim{d, err}
	}()
	// The claim returns, or shows in pg_stat_activity waiting for the
	// row lock: then the frozen transaction ends, as Postgres would end it.
	var got claim
	waited := false
	bound := time.Now().Add(time.Minute)
	for done := false; !done; {
		select {
		case got = <-claimed:
			done = true
		case <-time.After(10 * time.Millisecond):
			var n int
			require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, app).Scan(&n))
			if n > 0 && !waited {
				waited = true
				require.NoError(t, frozen.Rollback(ctx))
			}
			require.True(t, time.Now().Before(bound), "the claim neither returned nor waited")
		}
	}
	require.False(t, waited, "the claim waited for the frozen holder's row lock, then granted %+v", got.d)
	require.ErrorIs(t, got.err, store.ErrConflict)
	cur, err := st.GetDebate(ctx, "d1")
	require.NoError(t, err)
	require.Equal(t, "frozen", cur.LeaseOwner, "the refused claim wrote nothing")
	require.Equal(t, int64(1), cur.LeaseGeneration)

	require.NoError(t, frozen.Rollback(ctx))
	d1, err := st.ClaimDebate(ctx, "d1", "peer", later, ttl)
	require.NoError(t, err)
	require.Equal(t, store.Lease{Owner: "peer", Generation: 2}, store.LeaseOf(d1))
	require.True(t, d1.LeaseExpiresAt.Equal(later.Add(ttl)), "%s", d1.LeaseExpiresAt)
}

package pgstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/internal/testenv"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/pgstore"
)

// TestProbeWrite: the write probe commits on a live server; with its
// connections terminated by the server (as on a restart) it fails as
// store.ErrUnavailable or, once the pool reconnected, succeeds; with the
// pool closed it fails as store.ErrUnavailable.
func TestProbeWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := dsn(t)
	schema := freshSchema(t, d)
	app := "aragora_probe_" + schema[len("aragora_test_"):]
	s, err := pgstore.Open(ctx, testenv.WithApplicationName(t, d, app), pgstore.Config{Schema: schema, PoolSize: 1, MaxOverflow: 1})
	require.NoError(t, err)
	require.NoError(t, s.ProbeWrite(ctx))

	require.Positive(t, terminate(t, d, app))
	if err := s.ProbeWrite(ctx); err != nil {
		assert.Equal(t, store.ErrUnavailable, store.Unavailable(err), "%v", err)
	}
	require.NoError(t, s.ProbeWrite(ctx), "the pool reconnects")

	require.NoError(t, s.Close())
	err = s.ProbeWrite(ctx)
	require.Error(t, err)
	assert.Equal(t, store.ErrUnavailable, store.Unavailable(err), "%v", err)
}

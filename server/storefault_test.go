package server_test

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/server"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/memstore"
)

// faultyStore is a memstore whose writes, reads and write probe fail with
// err while it is set: the errors a full volume or a stopped database
// gives the real stores.
type faultyStore struct {
	*memstore.Store
	mu  sync.Mutex
	err error
}

func (s *faultyStore) fault() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *faultyStore) set(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

func (s *faultyStore) ProbeWrite(context.Context) error { return s.fault() }

func (s *faultyStore) CreateDebate(ctx context.Context, d *store.Debate) error {
	if err := s.fault(); err != nil {
		return err
	}
	return s.Store.CreateDebate(ctx, d)
}

func (s *faultyStore) ListDebates(ctx context.Context, f store.Filter) ([]*store.Debate, error) {
	if err := s.fault(); err != nil {
		return nil, err
	}
	return s.Store.ListDebates(ctx, f)
}

// TestStoreFaultsAnswer503Or507NeverA500: a full volume answers writes 507
// insufficient_storage, a stopped database 503 store_unavailable, both
// with Retry-After; readiness turns 503 store_unwritable and health says
// why; once the store writes again all is back to normal.
func TestStoreFaultsAnswer503Or507NeverA500(t *testing.T) {
	st := &faultyStore{Store: memstore.New()}
	var mu sync.Mutex
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	tick := func() { mu.Lock(); now = now.Add(2 * time.Second); mu.Unlock() }
	s := newServerOn(t, st, func(c *server.Config) { c.Now = clock })
	h := s.Handler()
	require.Equal(t, 200, do(t, h, "GET", "/readyz", "", nil).Code)

	full := &os.PathError{Op: "write", Path: "/var/lib/aragora/aragora.db-wal", Err: syscall.ENOSPC}
	down := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, tt := range []struct {
		err          error
		status       int
		code, reason string
	}{
		{full, 507, "insufficient_storage", "storage_full"},
		{down, 503, "store_unavailable", "not_writable"},
	} {
		st.set(tt.err)
		tick()
		w := do(t, h, "POST", "/api/debates", `{"topic":"Store fault"}`, auth)
		assert.Equal(t, tt.status, w.Code, w.Body.String())
		assert.Equal(t, tt.code, errCode(t, w))
		assert.NotEmpty(t, w.Header().Get("Retry-After"))
		if tt.err == down {
			w = do(t, h, "GET", "/api/debates", "", auth)
			assert.Equal(t, 503, w.Code)
			assert.Equal(t, "store_unavailable", errCode(t, w))
		}

		w = do(t, h, "GET", "/readyz", "", nil)
		assert.Equal(t, 503, w.Code)
		assert.JSONEq(t, `{"status":"not_ready","reason":"store_unwritable"}`, w.Body.String())
		w = do(t, h, "GET", "/api/health", "", nil)
		assert.Equal(t, 503, w.Code)
		var hb struct {
			Status string `json:"status"`
			Checks struct {
				Database struct{ Status, Reason string } `json:"database"`
			} `json:"checks"`
		}
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &hb))
		assert.Equal(t, "unhealthy", hb.Status)
		assert.Equal(t, "error", hb.Checks.Database.Status)
		assert.Equal(t, tt.reason, hb.Checks.Database.Reason)
	}

	st.set(nil)
	tick()
	assert.Equal(t, 200, do(t, h, "GET", "/readyz", "", nil).Code)
	w := do(t, h, "POST", "/api/debates", `{"topic":"Store back"}`, auth)
	assert.Equal(t, 202, w.Code, w.Body.String())
}

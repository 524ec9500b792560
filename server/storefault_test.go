package server_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	authpkg "github.com/aragora/aragora/auth"
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

// failingUsage is the usage store of a real memstore whose RecordUsage
// fails while down, like a stopped database.
type failingUsage struct {
	store.UsageStore
	down   atomic.Bool
	failed atomic.Int64
}

func (u *failingUsage) RecordUsage(ctx context.Context, r *store.UsageRecord) error {
	if u.down.Load() {
		u.failed.Add(1)
		return &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	return u.UsageStore.RecordUsage(ctx, r)
}

// testedAgent is an agent-test reply carrying its call's usage.
type testedAgent struct {
	Agent        string         `json:"agent"`
	Provider     string         `json:"provider"`
	Model        string         `json:"model"`
	OK           bool           `json:"ok"`
	LatencyMS    int            `json:"latency_ms"`
	Response     string         `json:"response"`
	Tokens       map[string]int `json:"tokens"`
	CostUSD      float64        `json:"cost_usd"`
	CircuitState string         `json:"circuit_state"`
	Error        *string        `json:"error"`
}

func (testedAgent) UsageRecord() store.UsageRecord {
	return store.UsageRecord{Provider: "demo", Model: "demo-balanced", TokensIn: 7, TokensOut: 3, CostUSD: 0.001}
}

// TestAgentTestUsageNeverDropped: the usage of an agent test whose row
// the store cannot write is spooled and written once the store writes
// again.
func TestAgentTestUsageNeverDropped(t *testing.T) {
	st := memstore.New()
	us := &failingUsage{UsageStore: st}
	e := newAuthEnv(t, st, func(c *server.Config) {
		c.Usage = us
		c.AgentTest = func(_ context.Context, req server.AgentTestRequest) (any, error) {
			return testedAgent{Agent: req.Agent, Provider: "demo", Model: "demo-balanced", OK: true, LatencyMS: 1,
				Response: "pong", Tokens: map[string]int{"input": 7, "output": 3}, CostUSD: 0.001, CircuitState: "closed"}, nil
		}
	})
	us.down.Store(true)
	w := do(t, e.srv, "POST", "/api/debug/agent-test", `{"agent":"demo-a"}`, e.bearer(authpkg.RoleAdmin))
	require.Equal(t, 200, w.Code, w.Body.String())
	require.Positive(t, us.failed.Load(), "the store refused the row")
	ctx := context.Background()
	assert.Zero(t, e.srv.Lifecycle().FlushUsage(ctx), "nothing written while the store is down")

	us.down.Store(false)
	assert.Equal(t, 1, e.srv.Lifecycle().FlushUsage(ctx))
	buckets, err := st.AggregateUsage(ctx, store.UsageFilter{UserID: e.users[authpkg.RoleAdmin].ID,
		From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	require.Len(t, buckets, 1)
	assert.Equal(t, int64(7), buckets[0].TokensIn)
	assert.Equal(t, int64(1), buckets[0].Requests)
	assert.Zero(t, e.srv.Lifecycle().FlushUsage(ctx), "written once")
}

// readFaultStore is a memstore whose GetDebate fails with err.
type readFaultStore struct {
	*memstore.Store
	err error
}

func (s *readFaultStore) GetDebate(context.Context, string) (*store.Debate, error) { return nil, s.err }

// TestWebSocketStoreErrorsUseTheHTTPKinds: a subscription the store
// cannot answer gets the error kind HTTP would answer
// (store_unavailable, insufficient_storage) with retry_after, not internal.
func TestWebSocketStoreErrorsUseTheHTTPKinds(t *testing.T) {
	for _, tt := range []struct {
		err   error
		code  string
		retry float64
	}{
		{&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, "store_unavailable", 5},
		{&os.PathError{Op: "write", Path: "/data/aragora.db-wal", Err: syscall.ENOSPC}, "insufficient_storage", 60},
	} {
		t.Run(tt.code, func(t *testing.T) {
			s := newServerOn(t, &readFaultStore{Store: memstore.New(), err: tt.err}, nil)
			ts := httptest.NewServer(s.WSHandler())
			defer ts.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c := dialWS(ctx, t, ts.URL, "/ws/debates/deb_0123456789abcdef", token)
			defer c.CloseNow()
			var frames []map[string]any
			for len(frames) < 2 {
				_, b, err := c.Read(ctx)
				require.NoError(t, err)
				var m map[string]any
				require.NoError(t, json.Unmarshal(b, &m))
				frames = append(frames, m)
			}
			assert.Equal(t, "hello", frames[0]["type"])
			assert.Equal(t, map[string]any{"type": "error", "code": tt.code, "message": frames[1]["message"],
				"debate_id": "deb_0123456789abcdef", "retry_after": tt.retry}, frames[1])
			assert.NotEmpty(t, frames[1]["message"])
		})
	}
}

package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	authpkg "github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/server"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/memstore"
)

// memFanout is an in-process server.Fanout: what Redis pub/sub does
// between replicas.
type memFanout struct {
	mu        sync.Mutex
	subs      map[string][]chan store.Event
	published map[string][]int64
	subscribe int
}

func newMemFanout() *memFanout {
	return &memFanout{subs: map[string][]chan store.Event{}, published: map[string][]int64{}}
}

func (f *memFanout) Publish(_ context.Context, e store.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.published[e.DebateID] = append(f.published[e.DebateID], e.Seq)
	for _, ch := range f.subs[e.DebateID] {
		select {
		case ch <- e:
		default: // at most once, like pub/sub
		}
	}
	return nil
}

func (f *memFanout) Subscribe(_ context.Context, id string) (<-chan store.Event, func(), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subscribe++
	ch := make(chan store.Event, 1024)
	f.subs[id] = append(f.subs[id], ch)
	return ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		for i, c := range f.subs[id] {
			if c == ch {
				f.subs[id] = append(f.subs[id][:i], f.subs[id][i+1:]...)
			}
		}
	}, nil
}

func (f *memFanout) seqs(id string) []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int64(nil), f.published[id]...)
}

// newReplica starts a server on st with fanout f.
func newReplica(t *testing.T, st store.DebateStore, f server.Fanout) *server.Server {
	t.Helper()
	return startServer(t, st, demoRegistry{}, server.Config{Version: "0.8.0",
		Auth: &authpkg.Authenticator{ServiceToken: token}, Fanout: f})
}

func TestFanoutAcrossReplicas(t *testing.T) {
	st := memstore.New()
	f := newMemFanout()
	a := newReplica(t, st, f)
	b := newReplica(t, st, f)
	tb := httptest.NewServer(b.WSHandler())
	defer tb.Close()

	id := createDebate(t, a.Handler(), `{"topic":"Fan out?","rounds":2}`, auth)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := dialWS(ctx, t, tb.URL, "/ws/debates/"+id, token)
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	seqs := readSeqs(ctx, t, c)
	for i, s := range seqs {
		require.Equal(t, int64(i+1), s, "seqs %v", seqs)
	}
	// The replica running the debate published every durable event once,
	// in order.
	pub := f.seqs(id)
	require.Eventually(t, func() bool { pub = f.seqs(id); return len(pub) == len(seqs) }, 10*time.Second, 10*time.Millisecond)
	for i, s := range pub {
		assert.Equal(t, int64(i+1), s)
	}
}

func TestControlEvent(t *testing.T) {
	s, _ := newServer(t, nil)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	require.NoError(t, err)
	defer c.CloseNow()
	_, hello, err := c.Read(ctx)
	require.NoError(t, err)
	require.Contains(t, string(hello), `"hello"`)
	s.Control("circuit_state_changed", "", map[string]string{"agent": "claude", "from": "closed", "to": "open"})
	_, raw, err := c.Read(ctx)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	assert.Equal(t, "circuit_state_changed", m["type"])
	assert.NotContains(t, m, "debate_id")
	assert.Equal(t, map[string]any{"agent": "claude", "from": "closed", "to": "open"}, m["data"])
	active, pending := s.Counts()
	assert.Equal(t, fmt.Sprint(0, 0), fmt.Sprint(active, pending))
}

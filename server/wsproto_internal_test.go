package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/lifecycle"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/memstore"
)

// wsTestServer is a server with one finished debate without stored
// events, on a real listener; mut adjusts its config.
func wsTestServer(t *testing.T, mut func(*Config)) (*Server, string, string) {
	t.Helper()
	lg := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))
	st := memstore.New()
	now := time.Now().UTC()
	d := &store.Debate{ID: "deb_wsproto", Topic: "t", Status: store.StatusConsensusReached, Config: []byte(`{}`),
		CreatedAt: now, UpdatedAt: now, StartedAt: now, FinishedAt: now}
	require.NoError(t, st.CreateDebate(context.Background(), d))
	cfg := Config{Version: "test", Auth: &auth.Authenticator{ServiceToken: wsBenchToken},
		Logger: lg, AuthLogger: lg, WSLogger: lg, Lifecycle: lifecycle.Config{Logger: lg}}
	if mut != nil {
		mut(&cfg)
	}
	s, err := New(st, nil, cfg)
	require.NoError(t, err)
	ts := httptest.NewServer(s.WSHandler())
	t.Cleanup(func() {
		s.CloseAll(1001)
		ts.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, s.Shutdown(ctx))
	})
	return s, "ws" + strings.TrimPrefix(ts.URL, "http") + "/ws/debates/" + d.ID, d.ID
}

func dialWSTest(t *testing.T, ctx context.Context, url string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + wsBenchToken}}})
	require.NoError(t, err)
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

// readType reads messages until one of type typ and returns it.
func readType(t *testing.T, ctx context.Context, c *websocket.Conn, typ string) []byte {
	t.Helper()
	for {
		_, b, err := c.Read(ctx)
		require.NoError(t, err)
		var m struct{ Type string }
		require.NoError(t, json.Unmarshal(b, &m))
		if m.Type == typ {
			return b
		}
	}
}

// TestWSFrameSizesAndPing publishes events of every frame-length form
// (7-bit, 16-bit and 64-bit lengths) to a real WebSocket client, which
// gets them intact and in order, and answers the server's pings in
// between (a short heartbeat) while it pings the server itself.
func TestWSFrameSizesAndPing(t *testing.T) {
	s, url, id := wsTestServer(t, func(c *Config) { c.WSHeartbeat = 20 * time.Millisecond })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := dialWSTest(t, ctx, url)
	readType(t, ctx, c, "subscribed")

	msgs := make(chan []byte, 64)
	readErr := make(chan error, 1)
	go func() {
		for {
			_, b, err := c.Read(ctx)
			if err != nil {
				readErr <- err
				close(msgs)
				return
			}
			msgs <- b
		}
	}()
	next := func() []byte { // the next message that is not a heartbeat
		t.Helper()
		for b := range msgs {
			if !strings.Contains(string(b), `"type":"heartbeat"`) {
				return b
			}
		}
		t.Fatalf("connection ended: %v", <-readErr)
		return nil
	}
	var want [][]byte
	for i, size := range []int{30, 125, 126, 4000, 65535, 65536, 70000} {
		head := `{"type":"x","seq":` + strconv.Itoa(i+1) + `,"p":"`
		b := []byte(head + strings.Repeat("y", size-len(head)-2) + `"}`)
		require.Len(t, b, size)
		want = append(want, b)
	}
	for i, b := range want {
		s.hub.publish(id, int64(i+1), b)
	}
	require.NoError(t, c.Ping(ctx)) // the reader goroutine reads the pong
	for _, b := range want {
		assert.Equal(t, string(b), string(next()))
	}
	beats := 0
	for beats < 3 {
		b, ok := <-msgs
		require.True(t, ok, "connection ended")
		if strings.Contains(string(b), `"type":"heartbeat"`) {
			beats++
		}
	}
	s.hub.publish(id, int64(len(want)+1), []byte(`{"type":"after_pings"}`))
	assert.Equal(t, `{"type":"after_pings"}`, string(next()))
	require.NoError(t, c.Close(websocket.StatusNormalClosure, ""))
}

// TestWSSlowConsumerClosed1013 fills the send queue of a client that does
// not read: the server cuts it off (with 1013 when the close frame gets
// through; the frames still collected are dropped, so it may not) after
// whole frames (possibly none), and counts one dropped client.
func TestWSSlowConsumerClosed1013(t *testing.T) {
	s, url, id := wsTestServer(t, func(c *Config) { c.WSSendBuffer = 4 })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := dialWSTest(t, ctx, url)
	readType(t, ctx, c, "subscribed")
	big := []byte(`{"type":"x","p":"` + strings.Repeat("z", 256<<10) + `"}`)
	seq := int64(0)
	require.Eventually(t, func() bool {
		for range 8 {
			seq++
			s.hub.publish(id, seq, big)
		}
		return s.hub.dropped.Load() == 1
	}, 20*time.Second, time.Millisecond)
	got := 0
	var err error
	for {
		var b []byte
		if _, b, err = c.Read(ctx); err != nil {
			break
		}
		assert.Equal(t, len(big), len(b))
		got++
	}
	if st := websocket.CloseStatus(err); st != -1 {
		assert.Equal(t, websocket.StatusCode(1013), st)
	}
	// A burst larger than the queue cuts the client off before its writer
	// ran, so it may have got no frame at all; never all of them.
	assert.Less(t, int64(got), seq)
	assert.Equal(t, int64(1), s.hub.dropped.Load())
}

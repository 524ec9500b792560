package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serverFrame is a server's unmasked final text frame.
func serverFrame(p string) []byte {
	b := []byte{0x81}
	switch n := len(p); {
	case n <= 125:
		b = append(b, byte(n))
	case n <= 0xffff:
		b = append(b, 126, byte(n>>8), byte(n))
	default:
		b = append(b, 127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, p...)
}

func wireEvent(seq int64, typ string, ts time.Time, data string) string {
	return fmt.Sprintf(`{"epoch":"ep","seq":%d,"debate_id":"d","type":"%s","ts":"%s","data":%s}`,
		seq, typ, ts.UTC().Format(time.RFC3339Nano), data)
}

// TestFanSubParsesSplitFrames feeds a stream in pieces of every size:
// the subscriber reads every frame, answers the ping, and records one
// latency per live event.
func TestFanSubParsesSplitFrames(t *testing.T) {
	t.Parallel()
	ts := time.Date(2026, 12, 7, 6, 0, 0, 123456000, time.UTC)
	var stream []byte
	stream = append(stream, serverFrame(`{"type":"hello","connection_id":"ws_1"}`)...)
	stream = append(stream, serverFrame(`{"type":"subscribed","debate_id":"d","epoch":"ep","from_seq":1,"last_seq":2,"status":"running"}`)...)
	stream = append(stream, serverFrame(wireEvent(1, "debate_start", ts, `{}`))...)
	stream = append(stream, serverFrame(wireEvent(2, "round_start", ts, `{}`))...)
	stream = append(stream, 0x89, 3, 'a', 'b', 'c') // ping
	stream = append(stream, serverFrame(wireEvent(3, "proposal", ts, `{"content":"`+strings.Repeat("x", 300)+`"}`))...)
	stream = append(stream, serverFrame(wireEvent(0, "agent_token", ts, `{}`))...)
	stream = append(stream, serverFrame(`{"epoch":"ep","seq":4,"type":"vote","ts":"`+ts.Format(time.RFC3339Nano)+`","data":{"q":"a \" b"}}`)...)
	stream = append(stream, serverFrame(wireEvent(5, "debate_end", ts, `{}`))...)
	now := ts.Add(40 * time.Millisecond)
	for _, step := range []int{1, 2, 3, 7, 64, len(stream)} {
		readies, finishes := 0, 0
		s := newFanSub(0, true, func() { readies++ }, func() { finishes++ })
		s.tsc = &tsCache{}
		frames := 0
		for i := 0; i < len(stream); i += step {
			frames += s.feed(stream[i:min(i+step, len(stream))], now)
		}
		assert.Equal(t, 8, frames, "step %d", step)
		assert.Equal(t, []string{"hello", "subscribed", "debate_start", "round_start", "proposal", "agent_token", "vote", "debate_end"},
			s.res.types, "step %d", step)
		assert.True(t, s.res.ended)
		assert.False(t, s.res.gap)
		require.NoError(t, s.res.err)
		assert.Equal(t, []time.Duration{40 * time.Millisecond, 40 * time.Millisecond, 40 * time.Millisecond}, s.res.lats, "seq 3, 4, 5 are live")
		assert.Equal(t, []byte{0x8a, 0x83, 0x5a, 0x17, 0xc3, 0x8e, 'a' ^ 0x5a, 'b' ^ 0x17, 'c' ^ 0xc3}, s.pong)
		assert.Equal(t, 1, readies)
		assert.Equal(t, 1, finishes)
	}
}

// TestFanSubGap: a skipped seq is reported.
func TestFanSubGap(t *testing.T) {
	t.Parallel()
	s := newFanSub(0, false, func() {}, func() {})
	s.tsc = &tsCache{}
	ts := time.Now()
	var b []byte
	b = append(b, serverFrame(`{"type":"subscribed","from_seq":1,"last_seq":0}`)...)
	b = append(b, serverFrame(wireEvent(1, "proposal", ts, `{}`))...)
	b = append(b, serverFrame(wireEvent(3, "proposal", ts, `{}`))...)
	b = append(b, serverFrame(wireEvent(3, "proposal", ts, `{}`))...)
	s.feed(b, ts)
	assert.True(t, s.res.gap)
	assert.Equal(t, 1, s.res.dups)
	assert.False(t, s.done)
}

// TestFanPollerReadsWebSocket connects raw subscribers to a WebSocket
// server (the library the aragora server uses): the upgrade, the reads
// through epoll, and the pong to the server's ping.
func TestFanPollerReadsWebSocket(t *testing.T) {
	t.Parallel()
	ts0 := time.Now()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		_ = c.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribed","from_seq":1,"last_seq":1}`))
		_ = c.Write(ctx, websocket.MessageText, []byte(wireEvent(1, "debate_start", ts0, `{}`)))
		readDone := make(chan struct{})
		go func() { // Ping needs a reader; it ends when the client closes
			defer close(readDone)
			_, _, _ = c.Read(ctx)
		}()
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := c.Ping(pctx); err != nil {
			c.CloseNow()
			<-readDone
			return // no pong: the subscriber never gets debate_end
		}
		_ = c.Write(ctx, websocket.MessageText, []byte(wireEvent(2, "proposal", ts0, `{"content":"`+strings.Repeat("y", 70000)+`"}`)))
		_ = c.Write(ctx, websocket.MessageText, []byte(wireEvent(3, "debate_end", ts0, `{}`)))
		<-readDone
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var frames, finished atomic.Int64
	p, err := newFanPoller(ctx, 3, 2, &frames)
	require.NoError(t, err)
	subs := make([]*fanSub, 3)
	for i := range subs {
		subs[i] = newFanSub(i, false, func() {}, func() { finished.Add(1) })
		conn, rest, err := dialFan(ctx, &net.Dialer{}, "ws://"+strings.TrimPrefix(srv.URL, "http://")+"/ws/x", "tok")
		require.NoError(t, err)
		require.NoError(t, p.add(subs[i], conn, rest))
	}
	for finished.Load() < 3 && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	p.stop()
	require.NoError(t, p.err)
	for _, s := range subs {
		require.NoError(t, s.res.err)
		assert.True(t, s.res.ended)
		assert.False(t, s.res.gap)
		assert.Equal(t, 4, s.res.frames)
		assert.Len(t, s.res.lats, 2, "seq 2 and 3 are live")
	}
	assert.Equal(t, int64(12), frames.Load())
	_, _, err = dialFan(context.Background(), &net.Dialer{}, "ws://"+strings.TrimPrefix(srv.URL, "http://")+"/ws/x", "bad")
	assert.ErrorContains(t, err, "401")
}

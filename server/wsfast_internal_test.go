package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWSFanOutPartialWriteResumes: a subscriber that does not read while
// far more than its socket buffers hold is published gets every event,
// whole and in seq order, once it reads: what the fan-out's non-blocking
// write could not send is finished by a writer goroutine, and the events
// queued meanwhile follow it.
func TestWSFanOutPartialWriteResumes(t *testing.T) {
	s, url, id := wsTestServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := dialWSTest(t, ctx, url)
	readType(t, ctx, c, "subscribed")
	const n = 64
	pad := strings.Repeat("p", 100<<10)
	for seq := int64(1); seq <= n; seq++ {
		s.hub.publish(id, seq, fmt.Appendf(nil, `{"type":"x","seq":%d,"pad":%q}`, seq, pad))
		if seq%8 == 0 {
			time.Sleep(5 * time.Millisecond) // separate fan-out batches
		}
	}
	for want := int64(1); want <= n; want++ {
		_, b, err := c.Read(ctx)
		require.NoError(t, err)
		var m struct {
			Seq int64  `json:"seq"`
			Pad string `json:"pad"`
		}
		require.NoError(t, json.Unmarshal(b, &m))
		require.Equal(t, want, m.Seq)
		assert.Len(t, m.Pad, len(pad))
	}
	assert.Zero(t, s.hub.dropped.Load())
}

// TestWSFanOutPassesDeliverOnceInOrder publishes events while the
// fan-out's passes run (they take the events published meanwhile every
// fanTake subscribers): every subscriber gets every event once, in seq
// order; subscriptions detached meanwhile leave the pass order consistent.
func TestWSFanOutPassesDeliverOnceInOrder(t *testing.T) {
	s, url, id := wsTestServer(t, func(c *Config) { c.WSMaxConnections, c.WSMaxPerIP = 1000, 1000 })
	addr, path, _ := strings.Cut(strings.TrimPrefix(url, "ws://"), "/")
	const subs, events = 300, 200
	clients := make([]*rawClient, subs)
	for i := range clients {
		c, err := dialRaw(addr, "/"+path)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.conn.Close() })
		require.NoError(t, c.waitSubscribed())
		clients[i] = c
	}
	done := make(chan error, subs)
	for _, c := range clients {
		go func() {
			for want := int64(1); want <= events; want++ {
				p, err := c.frame(true)
				if err == nil {
					var m struct{ Seq int64 }
					if err = json.Unmarshal(p, &m); err == nil && m.Seq != want {
						err = fmt.Errorf("seq %d, want %d", m.Seq, want)
					}
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for seq := int64(1); seq <= events; seq++ {
		s.hub.publish(id, seq, fmt.Appendf(nil, `{"type":"x","seq":%d}`, seq))
		if seq%7 == 0 {
			time.Sleep(100 * time.Microsecond)
		}
	}
	for range subs {
		require.NoError(t, <-done)
	}
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	order := s.hub.order[id]
	assert.Len(t, order, len(s.hub.subs[id]))
	for i, sub := range order {
		assert.Equal(t, i, sub.pos)
		assert.Contains(t, s.hub.subs[id], sub)
	}
}

// TestHubOrderDetach: detaching keeps hub.order and the positions
// consistent with the subscription set, and detaching twice is harmless.
func TestHubOrderDetach(t *testing.T) {
	h := newHub(nil)
	var all []*subscription
	for range 6 {
		sub := &subscription{debateID: "d"}
		h.attach(sub)
		all = append(all, sub)
	}
	for _, i := range []int{1, 5, 1, 0} {
		h.detach(all[i])
		for j, sub := range h.order["d"] {
			assert.Equal(t, j, sub.pos)
			assert.Contains(t, h.subs["d"], sub)
		}
		assert.Len(t, h.order["d"], len(h.subs["d"]))
	}
	for _, sub := range all {
		h.detach(sub)
	}
	assert.Empty(t, h.order)
	assert.Empty(t, h.subs)
}

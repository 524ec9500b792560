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

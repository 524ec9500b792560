package agent_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
)

// blocking answers only when ctx is done.
var blocking = agent.Func(func(ctx context.Context, _ agent.Request) (agent.Response, error) {
	<-ctx.Done()
	return agent.Response{}, ctx.Err()
})

type blockingStreamer struct{ agent.Func }

func (b blockingStreamer) RespondStream(ctx context.Context, req agent.Request, onChunk func(string)) (agent.Response, error) {
	onChunk("partial")
	return b.Func(ctx, req)
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	_, err := agent.Chain(blocking, agent.Timeout(time.Millisecond)).Respond(t.Context(), agent.Request{})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, agent.KindTimeout, agent.KindOf(err))

	t.Run("streamer", func(t *testing.T) {
		t.Parallel()
		st, ok := agent.Chain(blockingStreamer{blocking}, agent.Timeout(time.Millisecond)).(agent.Streamer)
		require.True(t, ok, "Timeout preserves Streamer")
		var chunks []string
		_, err := st.RespondStream(t.Context(), agent.Request{}, func(c string) { chunks = append(chunks, c) })
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, []string{"partial"}, chunks)
	})
	t.Run("fast call unaffected", func(t *testing.T) {
		t.Parallel()
		s := &script{}
		resp, err := agent.Chain(s, agent.Timeout(time.Hour)).Respond(t.Context(), agent.Request{})
		require.NoError(t, err)
		assert.Equal(t, "reply 1", resp.Text)
	})
	t.Run("zero disables", func(t *testing.T) {
		t.Parallel()
		s := &script{}
		assert.Same(t, s, agent.Timeout(0)(s))
	})
}

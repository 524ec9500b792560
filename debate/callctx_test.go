package debate

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCallCtx(t *testing.T) {
	t.Parallel()
	type key struct{}
	parent, cancelParent := context.WithCancelCause(context.WithValue(context.Background(), key{}, "v"))
	defer cancelParent(nil)
	own := time.Now().Add(time.Hour)
	var c callCtx
	c.init(parent, own)

	d, ok := c.Deadline()
	assert.True(t, ok)
	assert.Equal(t, own, d)
	assert.Equal(t, "v", c.Value(key{}))
	require.NoError(t, c.Err())
	done := c.Done()
	select {
	case <-done:
		t.Fatal("done before cancel")
	default:
	}

	// Contexts derived from a callCtx and AfterFunc are cancelled with it.
	derived, cancelDerived := context.WithCancel(&c)
	defer cancelDerived()
	ran := make(chan struct{})
	context.AfterFunc(&c, func() { close(ran) })
	stopped := make(chan struct{})
	stop := context.AfterFunc(&c, func() { close(stopped) })
	assert.True(t, stop(), "stop before cancel unregisters")

	c.cancel(context.DeadlineExceeded)
	c.cancel(context.Canceled) // only the first counts
	<-done
	<-derived.Done()
	<-ran
	assert.ErrorIs(t, c.Err(), context.DeadlineExceeded)
	assert.ErrorIs(t, derived.Err(), context.DeadlineExceeded, "derived contexts inherit the error")
	assert.ErrorIs(t, context.Cause(&c), context.DeadlineExceeded, "no parent cause: Err")
	select {
	case <-stopped:
		t.Fatal("a stopped AfterFunc ran")
	default:
	}
	// After cancel, Done is closed at once and AfterFunc runs at once.
	var late callCtx
	late.init(parent, own)
	late.cancel(context.Canceled)
	<-late.Done()
	again := make(chan struct{})
	assert.False(t, context.AfterFunc(&late, func() { close(again) })())
	<-again
}

func TestCallCtxParentDeadlineAndCause(t *testing.T) {
	t.Parallel()
	suspend := errors.New("suspend")
	parent, cancel := context.WithCancelCause(context.Background())
	early, cancelEarly := context.WithDeadline(parent, time.Now().Add(time.Minute))
	defer cancelEarly()
	var c callCtx
	c.init(early, time.Now().Add(time.Hour))
	d, _ := c.Deadline()
	pd, _ := early.Deadline()
	assert.Equal(t, pd, d, "the debate's earlier deadline wins")
	cancel(suspend)
	c.cancel(early.Err())
	assert.ErrorIs(t, c.Err(), context.Canceled)
	assert.ErrorIs(t, context.Cause(&c), suspend, "the parent's cause shows through")
}

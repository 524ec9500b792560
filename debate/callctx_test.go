package debate

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCallCtx(t *testing.T) {
	t.Parallel()
	type key struct{}
	parent, cancelParent := context.WithCancelCause(context.WithValue(context.Background(), key{}, "v"))
	defer cancelParent(nil)
	w := &phaseWait{epoch: time.Now()}
	own := w.epoch.Add(time.Hour)
	var c callCtx
	c.init(parent, w, time.Hour)

	d, ok := c.Deadline()
	assert.True(t, ok)
	assert.True(t, own.Equal(d), "%v, want %v", d, own)
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
	late.init(parent, w, time.Hour)
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
	w := &phaseWait{epoch: time.Now()}
	c.init(early, w, time.Hour)
	d, _ := c.Deadline()
	pd, _ := early.Deadline()
	assert.True(t, pd.Equal(d), "the debate's earlier deadline wins: %v, want %v", d, pd)
	assert.Equal(t, pd.Sub(w.epoch), c.end())
	c.endAt(time.Second)
	assert.Equal(t, time.Second, c.end(), "an earlier deadline than the debate's")
	c.endAt(2 * time.Hour)
	assert.Equal(t, pd.Sub(w.epoch), c.end(), "never after the debate's")
	cancel(suspend)
	c.cancel(early.Err())
	assert.ErrorIs(t, c.Err(), context.Canceled)
	assert.ErrorIs(t, context.Cause(&c), suspend, "the parent's cause shows through")
}

// The first function registered has a slot of its own: its stop function
// removes it and nothing registered after it.
func TestCallCtxAfterFuncStops(t *testing.T) {
	t.Parallel()
	var c callCtx
	c.init(context.Background(), &phaseWait{epoch: time.Now()}, time.Hour)
	var ran [3]chan struct{}
	var stops [3]func() bool
	for i := range ran {
		ran[i] = make(chan struct{})
		stops[i] = c.AfterFunc(func() { close(ran[i]) })
	}
	assert.True(t, stops[0](), "the first stops")
	assert.False(t, stops[0](), "once")
	later := make(chan struct{})
	c.AfterFunc(func() { close(later) }) // not in the first's slot
	assert.False(t, stops[0](), "the first's stop removes nothing else")
	assert.True(t, stops[2]())
	c.cancel(context.Canceled)
	<-ran[1]
	<-later
	for _, i := range []int{0, 2} {
		select {
		case <-ran[i]:
			t.Fatalf("stopped function %d ran", i)
		default:
		}
	}
	assert.False(t, stops[1](), "already called")
	assert.Same(t, c.err.Load(), boxed(context.Canceled), "the usual errors are boxed once")
}

// TestPhaseCallSize keeps a phase's call slot at the size run.go's
// phaseCall documents: a critique phase's 20 calls of 5 agents fit 2304
// bytes (a size class), which a debate holds while it waits for its
// agents, and a proposal phase's 5 fit 576.
func TestPhaseCallSize(t *testing.T) {
	t.Parallel()
	assert.LessOrEqual(t, unsafe.Sizeof(phaseCall{}), uintptr(112))
}

// TestAddTimeout checks that a call's deadline saturates rather than wraps
// when its timeout is longer than time.Duration can hold from its start.
func TestAddTimeout(t *testing.T) {
	t.Parallel()
	assert.Equal(t, 3*time.Second, addTimeout(time.Second, 2*time.Second))
	assert.Equal(t, time.Duration(math.MaxInt64), addTimeout(time.Hour, math.MaxInt64))
	assert.Equal(t, time.Second, addTimeout(2*time.Second, -time.Second))
}

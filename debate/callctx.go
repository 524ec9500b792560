package debate

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// callCtx is the context of one agent call: the debate's context with the
// call's own deadline (docs/debate.md#quorum-and-timeouts). The phase that starts the call
// cancels it when the deadline passes, when the debate's context ends, and
// when the call returns, so it needs neither a runtime timer nor a
// registration in its parent: context.WithDeadline costs both, and a debate
// of five agents makes 90 calls. Its Done channel is made only when someone
// asks for it. It implements AfterFunc, so contexts derived from it (an
// HTTP request's, for instance) are cancelled without a watcher goroutine.
//
// context.Cause of a callCtx is the parent's cause when the parent was
// cancelled with one, else Err.
//
// w is the phase of its call (phaseCall). Its deadline is a time since
// w.epoch, the run's, which has a monotonic clock reading: the calls'
// clocks are read as time.Since epoch, one monotonic reading each
// (time.Now reads the wall clock too), and their deadlines compare as
// they would as times.
type callCtx struct {
	parent   context.Context
	w        *phaseWait
	deadline atomic.Int64 // a time.Duration since w.epoch: set when the call starts, read by its phase

	err  atomic.Pointer[error] // set once by cancel
	mu   sync.Mutex
	done chan struct{} // made by Done, closed by cancel
	// first is the first function registered by AfterFunc, until stopped
	// or called (most calls register one: an agent watching its context);
	// afters are the others, a list that ends with firstTaken once first
	// has been filled (nil before), which keeps the slot from being filled
	// again, so that the first stop function removes only its own.
	first  func()
	afters *callAfter // the latest first
}

type callAfter struct {
	f    func()
	next *callAfter
}

// firstTaken ends the list of a callCtx's later AfterFuncs: it has no
// function, and is never removed or written.
var firstTaken callAfter

var _ context.Context = (*callCtx)(nil)

// closedChan is the Done channel of a context cancelled before anyone asked.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// init prepares c for a call of phase w under parent, ending at deadline
// (or at the parent's deadline, if earlier): endAt.
func (c *callCtx) init(parent context.Context, w *phaseWait, deadline time.Duration) {
	c.parent, c.w = parent, w
	c.endAt(deadline)
}

// endAt sets c's deadline to deadline, or to the parent's if earlier. A
// parent's deadline is made a time since w.epoch once, here: it then
// follows the monotonic clock, as the call's own does, not the wall clock.
func (c *callCtx) endAt(deadline time.Duration) {
	if d, ok := c.parent.Deadline(); ok {
		deadline = min(deadline, d.Sub(c.w.epoch))
	}
	c.deadline.Store(int64(deadline))
}

// end returns c's deadline, a time since w.epoch.
func (c *callCtx) end() time.Duration { return time.Duration(c.deadline.Load()) }

func (c *callCtx) Deadline() (time.Time, bool) { return c.w.epoch.Add(c.end()), true }

func (c *callCtx) Value(key any) any { return c.parent.Value(key) }

func (c *callCtx) Err() error {
	if p := c.err.Load(); p != nil {
		return *p
	}
	return nil
}

func (c *callCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		if c.Err() != nil {
			return closedChan
		}
		c.done = make(chan struct{})
	}
	return c.done
}

// AfterFunc calls f in its own goroutine once c is cancelled (at once if it
// already is). stop unregisters f and reports whether it did so before f
// was started. The context package uses it to propagate cancellation to
// contexts derived from c.
func (c *callCtx) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	if c.Err() != nil {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	if c.afters == nil {
		c.first, c.afters = f, &firstTaken
		c.mu.Unlock()
		return c.stopFirst
	}
	a := &callAfter{f: f, next: c.afters}
	c.afters = a
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for p := &c.afters; *p != nil; p = &(*p).next {
			if *p == a {
				*p = a.next
				return true
			}
		}
		return false
	}
}

// stopFirst is the stop function of the first function registered.
func (c *callCtx) stopFirst() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	stopped := c.first != nil
	c.first = nil
	return stopped
}

// The errors a call's context usually ends with, boxed once.
var (
	errCanceled = context.Canceled
	errDeadline = context.DeadlineExceeded
)

// boxed returns a pointer to err, shared for the usual errors.
func boxed(err error) *error {
	switch err {
	case context.Canceled:
		return &errCanceled
	case context.DeadlineExceeded:
		return &errDeadline
	}
	p := new(error) // not &err: err would be moved to the heap on entry
	*p = err
	return p
}

// cancel ends c with err; only the first call has an effect.
func (c *callCtx) cancel(err error) {
	c.mu.Lock()
	if c.Err() != nil {
		c.mu.Unlock()
		return
	}
	c.err.Store(boxed(err))
	if c.done != nil {
		close(c.done)
	}
	first, afters := c.first, c.afters
	c.first, c.afters = nil, nil
	c.mu.Unlock()
	if first != nil {
		go first()
	}
	for a := afters; a != nil && a != &firstTaken; a = a.next {
		go a.f()
	}
}

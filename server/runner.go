package server

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/aragora/aragora/store"
)

// overlay keeps the live state of debates this process runs or has run.
type overlay struct {
	mu sync.Mutex
	m  map[string]*liveState
}

type liveState struct {
	Status     string
	StartedAt  time.Time
	FinishedAt time.Time
	Result     json.RawMessage
	Receipts   map[string][]byte // format → rendered bytes
}

func newOverlay() *overlay { return &overlay{m: map[string]*liveState{}} }

func (o *overlay) get(id string) (liveState, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ls, ok := o.m[id]
	if !ok {
		return liveState{}, false
	}
	return *ls, true
}

func (o *overlay) update(id string, f func(*liveState)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ls, ok := o.m[id]
	if !ok {
		ls = &liveState{}
		o.m[id] = ls
	}
	f(ls)
}

// runner bounds the debates running in this process: MaxConcurrentDebates
// run, QueueSize wait as pending, the rest are refused.
type runner struct {
	s        *Server
	mu       sync.Mutex
	queue    []queued
	running  map[string]*running
	draining bool
	wg       sync.WaitGroup
	root     context.Context
	stop     context.CancelFunc
}

type queued struct {
	id     string
	resume bool
}

type running struct {
	cancel context.CancelCauseFunc
	done   chan struct{}
}

func newRunner(s *Server) *runner {
	ctx, cancel := context.WithCancel(context.Background())
	return &runner{s: s, running: map[string]*running{}, root: ctx, stop: cancel}
}

// submit starts id now or queues it; it returns the resulting status.
func (r *runner) submit(id string, resume bool) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.draining {
		return "", ErrShuttingDown
	}
	if _, ok := r.running[id]; ok {
		return store.StatusRunning, nil
	}
	for _, q := range r.queue {
		if q.id == id {
			return store.StatusPending, nil
		}
	}
	if len(r.running) < r.s.cfg.MaxConcurrentDebates {
		r.startLocked(queued{id, resume})
		return store.StatusRunning, nil
	}
	if len(r.queue) >= r.s.cfg.QueueSize {
		return "", ErrAtCapacity
	}
	r.queue = append(r.queue, queued{id, resume})
	return store.StatusPending, nil
}

func (r *runner) startLocked(q queued) {
	ctx, cancel := context.WithCancelCause(r.root)
	run := &running{cancel: cancel, done: make(chan struct{})}
	r.running[q.id] = run
	r.s.overlay.update(q.id, func(ls *liveState) { ls.Status = store.StatusRunning })
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer cancel(nil)
		defer close(run.done)
		r.s.execute(ctx, q.id, q.resume)
		r.finished(q.id)
	}()
}

func (r *runner) finished(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.running, id)
	if r.draining {
		return
	}
	for len(r.queue) > 0 && len(r.running) < r.s.cfg.MaxConcurrentDebates {
		q := r.queue[0]
		r.queue = r.queue[1:]
		r.startLocked(q)
	}
}

func (r *runner) active() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.running)
}

func (r *runner) pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.queue)
}

func (r *runner) local(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.running[id]
	return ok
}

// cancel cancels a running or queued debate and returns a channel closed
// when it has stopped; ok is false when this process does not hold it.
func (r *runner) cancel(id string, cause error) (<-chan struct{}, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if run, ok := r.running[id]; ok {
		run.cancel(cause)
		return run.done, true
	}
	for i, q := range r.queue {
		if q.id == id {
			r.queue = append(r.queue[:i], r.queue[i+1:]...)
			// Run it with a cancelled context so the orchestrator records
			// the cancellation and its debate_end, bypassing the slot limit.
			ctx, c := context.WithCancelCause(r.root)
			c(cause)
			run := &running{cancel: c, done: make(chan struct{})}
			r.running[id] = run
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				defer close(run.done)
				r.s.execute(ctx, id, q.resume)
				r.mu.Lock()
				delete(r.running, id)
				r.mu.Unlock()
			}()
			return run.done, true
		}
	}
	return nil, false
}

// suspendAll refuses new work, suspends every running debate with cause
// and waits until they returned or ctx ends.
func (r *runner) suspendAll(ctx context.Context, cause error) error {
	r.mu.Lock()
	r.draining = true
	r.queue = nil // queued debates stay pending in the store
	for _, run := range r.running {
		run.cancel(cause)
	}
	r.mu.Unlock()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

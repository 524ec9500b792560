package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/store"
)

// overlay keeps the live state of debates this process runs or has run.
type overlay struct {
	mu sync.Mutex
	m  map[string]*liveState
}

type liveState struct {
	Status     store.Status
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

// Submit starts debate id in this process now, or queues it while
// MaxConcurrent debates run; it returns the resulting status (running or
// pending). resume marks a debate taken over from another process. A full
// queue is ErrAtCapacity; a Manager shutting down ErrShuttingDown.
func (m *Manager) Submit(id string, resume bool) (store.Status, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.draining {
		return "", ErrShuttingDown
	}
	if _, ok := m.running[id]; ok {
		return store.StatusRunning, nil
	}
	for _, q := range m.queue {
		if q.id == id {
			return store.StatusPending, nil
		}
	}
	if len(m.running) < m.cfg.MaxConcurrent {
		m.startLocked(queued{id, resume})
		return store.StatusRunning, nil
	}
	if len(m.queue) >= m.cfg.QueueSize {
		return "", ErrAtCapacity
	}
	m.queue = append(m.queue, queued{id, resume})
	return store.StatusPending, nil
}

func (m *Manager) startLocked(q queued) {
	ctx, cancel := context.WithCancelCause(m.root)
	run := &running{cancel: cancel, done: make(chan struct{}), claimed: make(chan struct{})}
	m.running[q.id] = run
	// The debate runs from now on: its status and start time are shown at
	// once (the 202 of POST /api/debates says running with a started_at,
	// as GET does), and the job records this start time, at the stores'
	// precision.
	now := m.now().UTC().Truncate(time.Microsecond)
	m.overlay.update(q.id, func(ls *liveState) {
		ls.Status = store.StatusRunning
		if ls.StartedAt.IsZero() {
			ls.StartedAt = now
		}
	})
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer cancel(nil)
		defer close(run.done)
		m.execute(ctx, q.id, run.claimed)
		m.finished(q.id)
	}()
}

func (m *Manager) finished(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.running, id)
	if m.draining {
		return
	}
	for len(m.queue) > 0 && len(m.running) < m.cfg.MaxConcurrent {
		q := m.queue[0]
		m.queue = m.queue[1:]
		m.startLocked(q)
	}
}

// execute prepares and runs one debate to its end, suspension or failure,
// in the runner's goroutine; it closes claimed once Prepare returned.
func (m *Manager) execute(ctx context.Context, id string, claimed chan struct{}) {
	bg := context.WithoutCancel(ctx)
	log := m.log.With("debate_id", id)
	j, err := m.Prepare(ctx, id)
	close(claimed)
	var se *SetupError
	switch {
	case errors.As(err, &se) && j != nil:
		j.Fail(bg, se.Code, se.Error())
		return
	case errors.Is(err, ErrHeld), errors.Is(err, store.ErrConflict):
		log.Info("debate_claim_lost", "error", err.Error())
		m.overlay.update(id, func(ls *liveState) { ls.Status = "" })
		return
	case err != nil:
		log.Error("debate_load_failed", "error", err.Error())
		return
	}
	_, _ = j.Run(ctx)
}

// Counts returns the debates running in this process and those queued.
func (m *Manager) Counts() (active, pending int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.running), len(m.queue)
}

// awaitClaims waits until the debates ids that run in this process have
// been claimed (or refused), or ctx ends.
func (m *Manager) awaitClaims(ctx context.Context, ids []string) {
	for _, id := range ids {
		m.mu.Lock()
		run, ok := m.running[id]
		m.mu.Unlock()
		if !ok {
			continue
		}
		select {
		case <-run.claimed:
		case <-run.done:
		case <-ctx.Done():
			return
		}
	}
}

// Local reports whether debate id runs (or is queued) in this process.
func (m *Manager) Local(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.running[id]
	return ok
}

// Cancel cancels a running or queued debate of this process with cause
// (the orchestrator records it as cancelled, with its debate_end) and
// returns a channel closed once it has stopped; ok is false when this
// process does not hold the debate.
func (m *Manager) Cancel(id string, cause error) (done <-chan struct{}, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if run, ok := m.running[id]; ok {
		run.cancel(cause)
		return run.done, true
	}
	for i, q := range m.queue {
		if q.id == id {
			m.queue = append(m.queue[:i], m.queue[i+1:]...)
			// Run it with a cancelled context so the orchestrator records
			// the cancellation and its debate_end, bypassing the slot limit.
			ctx, c := context.WithCancelCause(m.root)
			c(cause)
			run := &running{cancel: c, done: make(chan struct{}), claimed: make(chan struct{})}
			m.running[id] = run
			m.wg.Add(1)
			go func() {
				defer m.wg.Done()
				defer close(run.done)
				m.execute(ctx, id, run.claimed)
				m.mu.Lock()
				delete(m.running, id)
				m.mu.Unlock()
			}()
			return run.done, true
		}
	}
	return nil, false
}

// Drain refuses new debates from now on (Submit and Create return
// ErrShuttingDown) and stops resuming orphans; running debates carry on
// (docs/operations.md#stop-drain-and-restart step 1).
func (m *Manager) Drain() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.draining = true
}

// Shutdown stops the sweeper, refuses new debates, suspends every running
// one (docs/operations.md#stop-drain-and-restart: each returns to pending, its lease released, for the
// next process) and waits for them until ctx ends. Queued debates stay
// pending in the store.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.stopSweeper()
	m.mu.Lock()
	m.draining = true
	m.queue = nil
	for _, run := range m.running {
		run.cancel(debate.ErrSuspend)
	}
	m.mu.Unlock()
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	select {
	case <-done:
		m.stopRoot()
		return nil
	case <-ctx.Done():
		m.stopRoot()
		return ctx.Err()
	}
}

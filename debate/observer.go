package debate

import (
	"log/slog"
	"sync"
	"time"
)

// observerSet delivers events to each observer through its own goroutine and
// bounded FIFO buffer (docs/events.md). Enqueueing never blocks.
type observerSet struct {
	log           *slog.Logger
	subs          []*observerSub
	mu            sync.Mutex // guards drops/panics totals and the drop log flag
	drops, panics int
	loggedDrop    bool
	// closing guards the channels against a publish after close: an
	// abandoned streaming agent may still deliver a token late.
	closing sync.RWMutex
	closed  bool
}

type observerSub struct {
	obs     Observer
	ch      chan Event
	done    chan struct{}
	discard chan struct{} // closed when the drain deadline passed
	set     *observerSet
}

func newObserverSet(obs []Observer, buffer int, log *slog.Logger) *observerSet {
	s := &observerSet{log: log}
	for _, o := range obs {
		if o == nil {
			continue
		}
		sub := &observerSub{obs: o, ch: make(chan Event, buffer), done: make(chan struct{}), discard: make(chan struct{}), set: s}
		s.subs = append(s.subs, sub)
		go sub.loop()
	}
	return s
}

func (sub *observerSub) loop() {
	defer close(sub.done)
	for e := range sub.ch {
		select {
		case <-sub.discard:
			sub.set.addDrops(1)
			continue
		default:
		}
		sub.deliver(e)
	}
}

func (sub *observerSub) deliver(e Event) {
	defer func() {
		if p := recover(); p != nil {
			sub.set.mu.Lock()
			sub.set.panics++
			sub.set.mu.Unlock()
			sub.set.log.Error("observer_panic", "debate_id", e.DebateID, "event", string(e.Type), "panic", p)
		}
	}()
	sub.obs.OnEvent(e)
}

func (s *observerSet) addDrops(n int) {
	s.mu.Lock()
	s.drops += n
	first := !s.loggedDrop
	s.loggedDrop = true
	s.mu.Unlock()
	if first {
		s.log.Warn("observer_events_dropped")
	}
}

// publish enqueues e for every observer without blocking. After close it
// drops e.
func (s *observerSet) publish(e Event) {
	s.closing.RLock()
	defer s.closing.RUnlock()
	if s.closed {
		return
	}
	for _, sub := range s.subs {
		select {
		case sub.ch <- e:
		default:
			s.addDrops(1)
		}
	}
}

// close waits up to drain for the buffers to empty, counts what remains as
// dropped, and stops every observer goroutine. An observer stuck inside
// OnEvent is waited for a further 5 s and then abandoned.
func (s *observerSet) close(drain time.Duration) (drops, panics int) {
	s.closing.Lock()
	s.closed = true
	for _, sub := range s.subs {
		close(sub.ch)
	}
	s.closing.Unlock()
	if len(s.subs) == 0 { // nothing to drain: no timer
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.drops, s.panics
	}
	timer := time.NewTimer(drain)
	defer timer.Stop()
	expired := false
	for _, sub := range s.subs {
		if !expired {
			select {
			case <-sub.done:
				continue
			case <-timer.C:
				// Drain time is over: discard the rest of every buffer.
				expired = true
				for _, rest := range s.subs {
					close(rest.discard)
				}
			}
		}
		select {
		case <-sub.done:
		case <-time.After(5 * time.Second):
			s.log.Error("observer_abandoned")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.drops, s.panics
}

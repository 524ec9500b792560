package breaker

import (
	"slices"
	"sync"
)

// Registry holds one Circuit per agent name, created on first use with the
// registry's Config. It is safe for concurrent use. Create it with
// NewRegistry; the zero value is not usable.
//
// gobreaker has no reset and reads the clock itself, so Reset swaps in a new
// Circuit, and opened_at and next_probe_at are recorded from state changes,
// not read from gobreaker.
type Registry struct {
	cfg Config

	mu        sync.Mutex
	circuits  map[string]*Circuit
	listeners []func(name string, from, to State)
}

// NewRegistry returns an empty Registry whose circuits use cfg (its Name is
// ignored; each circuit is named after its agent). cfg.OnStateChange, when
// set, becomes the first listener.
func NewRegistry(cfg Config) (*Registry, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Registry{cfg: cfg.withDefaults(), circuits: make(map[string]*Circuit)}
	if cfg.OnStateChange != nil {
		r.listeners = append(r.listeners, cfg.OnStateChange)
	}
	return r, nil
}

// OnStateChange adds a listener called after every state change of every
// circuit, and after a Reset that closed a circuit that was not closed.
// Listeners run outside every lock, in the order they were added, and may
// call back into the Registry. They must not block for long: they run on
// the goroutine of the call that changed the state.
func (r *Registry) OnStateChange(fn func(name string, from, to State)) {
	if fn == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.listeners = append(r.listeners, fn)
}

func (r *Registry) notify(name string, from, to State) {
	r.mu.Lock()
	ls := slices.Clone(r.listeners)
	r.mu.Unlock()
	for _, fn := range ls {
		fn(name, from, to)
	}
}

func (r *Registry) newCircuit(name string) *Circuit {
	cfg := r.cfg
	cfg.Name = name
	cfg.OnStateChange = r.notify
	return newCircuit(cfg)
}

// Get returns name's circuit, creating a closed one on first use.
func (r *Registry) Get(name string) *Circuit {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.circuits[name]
	if !ok {
		c = r.newCircuit(name)
		r.circuits[name] = c
	}
	return c
}

// Names returns the names of the circuits created so far, sorted.
func (r *Registry) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.circuits))
	for n := range r.circuits {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Snapshot returns the state of every circuit created so far, keyed by
// name (the body of GET /api/agents/circuit-breakers).
func (r *Registry) Snapshot() map[string]Snapshot {
	r.mu.Lock()
	circuits := make(map[string]*Circuit, len(r.circuits))
	for n, c := range r.circuits {
		circuits[n] = c
	}
	r.mu.Unlock()
	out := make(map[string]Snapshot, len(circuits))
	for n, c := range circuits {
		out[n] = c.Snapshot()
	}
	return out
}

// Reset replaces name's circuit with a new, closed one and returns the state
// the old one was in (StateClosed when name had no circuit, in which case
// none is created). Calls in flight on the old circuit finish there and no
// longer affect name. When the previous state was not closed, listeners see
// a change from it to StateClosed.
func (r *Registry) Reset(name string) State {
	r.mu.Lock()
	old, ok := r.circuits[name]
	if !ok {
		r.mu.Unlock()
		return StateClosed
	}
	r.circuits[name] = r.newCircuit(name)
	r.mu.Unlock()
	old.retired.Store(true)
	prev := old.State()
	if prev != StateClosed {
		r.notify(name, prev, StateClosed)
	}
	return prev
}

// Package breaker keeps a circuit breaker per agent, so that a provider that
// keeps failing is given a rest instead of more calls (docs/agents.md#middleware,
// docs/http-api.md#agents).
//
// A [Circuit] wraps sony/gobreaker/v2 with the project's policy: it opens
// after [Config].MaxFailures (5) consecutive failures, stays open
// [Config].OpenFor (30 s), then admits one half-open probe whose success
// closes it and whose failure reopens it. Only timeouts, connection errors
// and 5xx (agent kinds timeout and server) are failures; 429, quota
// exhaustion, other 4xx, unusable replies and the caller's cancellation
// count neither way. While open, calls fail at once with an error wrapping
// [ErrOpen], which agent.KindOf reports as agent.KindCircuitOpen.
//
// A [Registry] holds one Circuit per agent name, reports a [Snapshot] of
// each for the API, resets a circuit by replacing it, and tells listeners
// about state changes (metrics, the WebSocket control stream, logs).
// [Middleware] puts a registry's circuit in front of an agent.
//
// gobreaker reads the wall clock itself and has no reset, so tests use
// millisecond OpenFor values rather than a fake clock.
package breaker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/aragora/aragora/agent"
)

// ErrOpen reports a call refused because its circuit is open (or half-open
// with its probe already in flight). agent.KindOf reports it as
// agent.KindCircuitOpen, so agent never imports breaker.
var ErrOpen error = openError{}

type openError struct{}

func (openError) Error() string         { return "breaker: circuit open" }
func (openError) AgentKind() agent.Kind { return agent.KindCircuitOpen }

// State is the state of a circuit. The zero value is StateClosed.
type State int

// Circuit states.
const (
	StateClosed State = iota
	StateHalfOpen
	StateOpen
)

// String returns the wire name of s: "closed", "half_open" or "open".
func (s State) String() string {
	switch s {
	case StateClosed:
		return "closed"
	case StateHalfOpen:
		return "half_open"
	case StateOpen:
		return "open"
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// MarshalText encodes s as its String form, so JSON carries "half_open".
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes the String form of a State.
func (s *State) UnmarshalText(b []byte) error {
	v, err := ParseState(string(b))
	if err == nil {
		*s = v
	}
	return err
}

// ParseState returns the State whose String form is name; an unknown name
// is an error.
func ParseState(name string) (State, error) {
	for _, s := range [...]State{StateClosed, StateHalfOpen, StateOpen} {
		if s.String() == name {
			return s, nil
		}
	}
	return StateClosed, fmt.Errorf("breaker: unknown state %q (want closed, half_open or open)", name)
}

func fromGobreaker(s gobreaker.State) State {
	switch s {
	case gobreaker.StateHalfOpen:
		return StateHalfOpen
	case gobreaker.StateOpen:
		return StateOpen
	}
	return StateClosed
}

// Defaults of Config (ARAGORA_CB_FAILURE_THRESHOLD, ARAGORA_CB_OPEN_SECONDS).
const (
	DefaultMaxFailures = 5
	DefaultOpenFor     = 30 * time.Second
)

// Config tunes a Circuit or every Circuit of a Registry. The zero value is
// usable.
type Config struct {
	// Name names the circuit (the agent name). A Registry sets it per
	// circuit.
	Name string
	// MaxFailures is the number of consecutive failures that opens the
	// circuit; default 5.
	MaxFailures uint32
	// OpenFor is how long the circuit stays open before it admits a probe;
	// default 30 s.
	OpenFor time.Duration
	// OnStateChange, when set, is called after each state change, outside
	// every lock, in the order of the changes; it may call back into the
	// Circuit or Registry. A Registry calls it with each circuit's name.
	OnStateChange func(name string, from, to State)
	// Now stamps opened_at, next_probe_at and last failures; default
	// time.Now. It does not drive the state machine (gobreaker reads the
	// wall clock).
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.MaxFailures == 0 {
		c.MaxFailures = DefaultMaxFailures
	}
	if c.OpenFor == 0 {
		c.OpenFor = DefaultOpenFor
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports a configuration that cannot work: a negative OpenFor.
func (c Config) Validate() error {
	if c.OpenFor < 0 {
		return fmt.Errorf("breaker: OpenFor %v is negative", c.OpenFor)
	}
	return nil
}

// Failure describes the last failure a circuit counted.
type Failure struct {
	Kind    agent.Kind `json:"kind"`
	Message string     `json:"message"`
	At      time.Time  `json:"at"`
}

// Snapshot is a circuit's state for GET /api/agents/circuit-breakers
// (docs/http-api.md#agents); its JSON form is that of the API.
type Snapshot struct {
	State State `json:"state"`
	// ConsecutiveFailures counts the failures since the last success or
	// reset; it keeps its value while the circuit is open.
	ConsecutiveFailures int `json:"consecutive_failures"`
	FailureThreshold    int `json:"failure_threshold"`
	// OpenSeconds is Config.OpenFor in seconds.
	OpenSeconds float64 `json:"open_seconds"`
	// OpenedAt is when the circuit last opened; nil if it never has.
	OpenedAt *time.Time `json:"opened_at"`
	// NextProbeAt is when an open circuit will admit its probe; nil unless
	// the circuit is open.
	NextProbeAt *time.Time `json:"next_probe_at"`
	// LastFailure is the last counted failure; nil if none.
	LastFailure *Failure `json:"last_failure"`
}

type transition struct{ from, to State }

// Circuit is a circuit breaker for one agent, backed by sony/gobreaker/v2.
// It is safe for concurrent use. Create it with New; the zero value is not
// usable.
type Circuit struct {
	cfg Config
	cb  *gobreaker.CircuitBreaker[struct{}]

	retired atomic.Bool // set when a Registry replaced this circuit

	mu          sync.Mutex // guards the fields below; taken after gobreaker's lock, never before
	consecutive int
	openedAt    time.Time
	lastFailure *Failure
	pending     []transition

	deliver sync.Mutex // serialises OnStateChange deliveries
}

// New returns a closed Circuit. cfg's zero fields take their defaults; an
// invalid cfg is reported by Validate and here.
func New(cfg Config) (*Circuit, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return newCircuit(cfg.withDefaults()), nil
}

func newCircuit(cfg Config) *Circuit {
	c := &Circuit{cfg: cfg}
	c.cb = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        cfg.Name,
		MaxRequests: 1,
		Timeout:     cfg.OpenFor,
		ReadyToTrip: func(n gobreaker.Counts) bool { return n.ConsecutiveFailures >= cfg.MaxFailures },
		// 429, quota, other 4xx and cancellations count neither as failure nor as success.
		IsExcluded:    func(err error) bool { return err != nil && !IsFailure(err) },
		OnStateChange: c.record,
	})
	return c
}

// IsFailure reports whether err counts against a circuit: timeouts,
// connection errors and 5xx, i.e. agent kinds timeout and server
// (docs/agents.md#middleware).
func IsFailure(err error) bool {
	k := agent.KindOf(err)
	return k == agent.KindTimeout || k == agent.KindServer
}

// record runs under gobreaker's lock: it only notes the change.
func (c *Circuit) record(_ string, from, to gobreaker.State) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, t := fromGobreaker(from), fromGobreaker(to)
	switch t {
	case StateOpen:
		c.openedAt = c.cfg.Now()
	case StateClosed:
		c.consecutive = 0
	}
	c.pending = append(c.pending, transition{f, t})
}

// flush delivers the recorded changes to OnStateChange outside every lock.
// A flush that finds another delivery in progress leaves its changes to
// that one, which re-checks before it returns; so a callback may call back
// into the circuit without deadlocking, and changes arrive in order.
func (c *Circuit) flush() {
	for {
		c.mu.Lock()
		empty := len(c.pending) == 0
		c.mu.Unlock()
		if empty || !c.deliver.TryLock() {
			return
		}
		c.mu.Lock()
		batch := c.pending
		c.pending = nil
		c.mu.Unlock()
		if fn := c.cfg.OnStateChange; fn != nil && !c.retired.Load() {
			for _, tr := range batch {
				fn(c.cfg.Name, tr.from, tr.to)
			}
		}
		c.deliver.Unlock()
	}
}

// Name returns the circuit's name.
func (c *Circuit) Name() string { return c.cfg.Name }

// State returns the current state. An open circuit whose OpenFor has passed
// reports (and becomes) StateHalfOpen.
func (c *Circuit) State() State {
	s := fromGobreaker(c.cb.State())
	c.flush()
	return s
}

// Do runs fn unless the circuit refuses the call, in which case it returns
// an error wrapping ErrOpen without calling fn. Otherwise it returns fn's
// error unchanged, after counting it: IsFailure errors are failures, nil is
// a success, and any other error counts neither way.
func (c *Circuit) Do(ctx context.Context, fn func(context.Context) error) error {
	_, err := c.cb.Execute(func() (struct{}, error) { return struct{}{}, fn(ctx) })
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		c.flush()
		return fmt.Errorf("%w: %s", ErrOpen, c.cfg.Name)
	}
	c.mu.Lock()
	switch {
	case err == nil:
		c.consecutive = 0
	case IsFailure(err):
		c.consecutive++
		c.lastFailure = &Failure{Kind: agent.KindOf(err), Message: err.Error(), At: c.cfg.Now()}
	}
	c.mu.Unlock()
	c.flush()
	return err
}

// Snapshot returns the circuit's state for the API.
func (c *Circuit) Snapshot() Snapshot {
	state := c.State()
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Snapshot{
		State:               state,
		ConsecutiveFailures: c.consecutive,
		FailureThreshold:    int(c.cfg.MaxFailures),
		OpenSeconds:         c.cfg.OpenFor.Seconds(),
	}
	if !c.openedAt.IsZero() {
		at := c.openedAt
		s.OpenedAt = &at
		if state == StateOpen {
			next := at.Add(c.cfg.OpenFor)
			s.NextProbeAt = &next
		}
	}
	if c.lastFailure != nil {
		f := *c.lastFailure
		s.LastFailure = &f
	}
	return s
}

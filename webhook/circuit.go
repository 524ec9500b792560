package webhook

import (
	"sync"
	"time"
)

// Circuit states, as the API names them.
const (
	CircuitClosed   = "closed"
	CircuitHalfOpen = "half_open"
	CircuitOpen     = "open"
)

// Breaker defaults: an endpoint's circuit opens after 5 consecutive failed
// attempts and stays open 60 s, then admits one probe.
const (
	DefaultBreakerFailures = 5
	DefaultBreakerOpenFor  = 60 * time.Second
)

// Failure is the last failure an endpoint's circuit counted.
type Failure struct {
	// Kind is "timeout", "connection", "refused" (the destination guard)
	// or "status" (an answer other than 2xx).
	Kind    string    `json:"kind"`
	Message string    `json:"message"`
	At      time.Time `json:"at"`
}

// CircuitSnapshot is an endpoint circuit's state, with the fields of the
// agent circuits in GET /api/system/circuit-breakers.
type CircuitSnapshot struct {
	State               string     `json:"state"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	FailureThreshold    int        `json:"failure_threshold"`
	OpenSeconds         float64    `json:"open_seconds"`
	OpenedAt            *time.Time `json:"opened_at"`
	NextProbeAt         *time.Time `json:"next_probe_at"`
	LastFailure         *Failure   `json:"last_failure"`
}

// circuit is one endpoint's breaker. It runs on the worker's clock
// (Config.Now) rather than gobreaker's wall clock, because the delivery
// schedule it defers is on that clock; the policy is that of package
// breaker: open after threshold consecutive failures, stay open openFor,
// then admit one probe whose success closes it and whose failure reopens
// it.
type circuit struct {
	threshold int
	openFor   time.Duration

	mu          sync.Mutex
	state       string
	consecutive int
	openedAt    time.Time
	probing     bool
	lastFailure *Failure
}

func newCircuit(threshold int, openFor time.Duration) *circuit {
	return &circuit{threshold: threshold, openFor: openFor, state: CircuitClosed}
}

// allow reports whether an attempt may go now. probe is true when it is
// the half-open probe, which the caller must end with success, failure or
// abandon. When refused, retryAt is when to come back.
func (c *circuit) allow(now time.Time) (ok, probe bool, retryAt time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.state {
	case CircuitOpen:
		next := c.openedAt.Add(c.openFor)
		if now.Before(next) {
			return false, false, next
		}
		c.state = CircuitHalfOpen
		fallthrough
	case CircuitHalfOpen:
		if c.probing {
			return false, false, now.Add(time.Second)
		}
		c.probing = true
		return true, true, time.Time{}
	}
	return true, false, time.Time{}
}

// success records a delivered attempt; it returns the state before.
func (c *circuit) success() (from string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	from = c.state
	c.state, c.consecutive, c.probing = CircuitClosed, 0, false
	return from
}

// failure records a failed attempt at f.At; it returns the states before
// and after.
func (c *circuit) failure(f Failure) (from, to string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	from = c.state
	c.consecutive++
	c.lastFailure = &f
	if c.state == CircuitHalfOpen || (c.state == CircuitClosed && c.consecutive >= c.threshold) {
		c.state, c.openedAt = CircuitOpen, f.At
	}
	c.probing = false
	return from, c.state
}

// abandon gives back a probe that was not attempted.
func (c *circuit) abandon() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.probing = false
}

// reset closes the circuit; it returns the state before.
func (c *circuit) reset() (from string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	from = c.state
	c.state, c.consecutive, c.probing = CircuitClosed, 0, false
	return from
}

func (c *circuit) snapshot(now time.Time) CircuitSnapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := CircuitSnapshot{State: c.state, ConsecutiveFailures: c.consecutive, FailureThreshold: c.threshold,
		OpenSeconds: c.openFor.Seconds()}
	if c.state == CircuitOpen && !now.Before(c.openedAt.Add(c.openFor)) {
		s.State = CircuitHalfOpen // what the next attempt will find
	}
	if !c.openedAt.IsZero() {
		at := c.openedAt
		s.OpenedAt = &at
		if s.State == CircuitOpen {
			next := at.Add(c.openFor)
			s.NextProbeAt = &next
		}
	}
	if c.lastFailure != nil {
		f := *c.lastFailure
		s.LastFailure = &f
	}
	return s
}

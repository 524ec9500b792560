package webhook

import (
	"sync"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/breaker"
)

// Breaker defaults: an endpoint's circuit opens after 5 consecutive failed
// attempts and stays open 60 s, then admits one probe.
const (
	DefaultBreakerFailures = 5
	DefaultBreakerOpenFor  = 60 * time.Second
)

// The kinds of an endpoint circuit's failures (breaker.Failure.Kind).
// Worker.Circuits reports breaker.Snapshot values, as the agent circuits
// have in GET /api/system/circuit-breakers (docs/http-api.md).
const (
	FailureTimeout               = agent.KindTimeout // "timeout"
	FailureConnection agent.Kind = "connection"
	FailureRefused    agent.Kind = "refused" // the destination guard
	FailureStatus     agent.Kind = "status"  // an answer other than 2xx
)

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
	state       breaker.State
	consecutive int
	openedAt    time.Time
	probing     bool
	lastFailure *breaker.Failure
}

func newCircuit(threshold int, openFor time.Duration) *circuit {
	return &circuit{threshold: threshold, openFor: openFor, state: breaker.StateClosed}
}

// allow reports whether an attempt may go now. probe is true when it is
// the half-open probe, which the caller must end with success, failure or
// abandon. When refused, retryAt is when to come back.
func (c *circuit) allow(now time.Time) (ok, probe bool, retryAt time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.state {
	case breaker.StateOpen:
		next := c.openedAt.Add(c.openFor)
		if now.Before(next) {
			return false, false, next
		}
		c.state = breaker.StateHalfOpen
		fallthrough
	case breaker.StateHalfOpen:
		if c.probing {
			return false, false, now.Add(time.Second)
		}
		c.probing = true
		return true, true, time.Time{}
	}
	return true, false, time.Time{}
}

// success records a delivered attempt: the circuit closes as on reset; it
// returns the state before.
func (c *circuit) success() (from breaker.State) { return c.reset() }

// failure records a failed attempt at f.At; it returns the states before
// and after.
func (c *circuit) failure(f breaker.Failure) (from, to breaker.State) {
	c.mu.Lock()
	defer c.mu.Unlock()
	from = c.state
	c.consecutive++
	c.lastFailure = &f
	if c.state == breaker.StateHalfOpen || (c.state == breaker.StateClosed && c.consecutive >= c.threshold) {
		c.state, c.openedAt = breaker.StateOpen, f.At
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
func (c *circuit) reset() (from breaker.State) {
	c.mu.Lock()
	defer c.mu.Unlock()
	from = c.state
	c.state, c.consecutive, c.probing = breaker.StateClosed, 0, false
	return from
}

func (c *circuit) snapshot(now time.Time) breaker.Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := breaker.Snapshot{State: c.state, ConsecutiveFailures: c.consecutive, FailureThreshold: c.threshold,
		OpenSeconds: c.openFor.Seconds()}
	if c.state == breaker.StateOpen && !now.Before(c.openedAt.Add(c.openFor)) {
		s.State = breaker.StateHalfOpen // what the next attempt will find
	}
	if !c.openedAt.IsZero() {
		at := c.openedAt
		s.OpenedAt = &at
		if s.State == breaker.StateOpen {
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

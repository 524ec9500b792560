// Package fakeclock is the manual clock tests hand to the Now fields of
// Configs (agent.StatsConfig, ratelimit, redislimit), so that time moves
// only when the test says.
package fakeclock

import (
	"sync"
	"time"
)

// Clock is a manual clock, safe for concurrent use. The zero value reads
// the zero time.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a Clock reading start.
func New(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

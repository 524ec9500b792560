// Package tick runs periodic background work until its context ends: the
// ticker loop the heartbeats, prunes and watches of lifecycle, server and
// service share.
package tick

import (
	"context"
	"time"
)

// Every calls f every d (the first call after d) until ctx ends or f
// returns false.
func Every(ctx context.Context, d time.Duration, f func() bool) {
	t := time.NewTicker(d)
	defer t.Stop()
	for next(ctx, t.C) {
		if !f() {
			return
		}
	}
}

// next waits for the next tick: false when ctx ends first.
func next(ctx context.Context, ticks <-chan time.Time) bool {
	select {
	case <-ctx.Done():
		return false
	case <-ticks:
		return true
	}
}

// Job is work to run every Period.
type Job struct {
	Period time.Duration
	Run    func()
}

// Both runs a and b, each every its Period (the first run after it), on
// the calling goroutine, so never at the same time, until ctx ends.
func Both(ctx context.Context, a, b Job) {
	ta, tb := time.NewTicker(a.Period), time.NewTicker(b.Period)
	defer ta.Stop()
	defer tb.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ta.C:
			a.Run()
		case <-tb.C:
			b.Run()
		}
	}
}

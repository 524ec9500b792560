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
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if !f() {
				return
			}
		}
	}
}

package service

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/aragora/aragora/internal/tick"
	"github.com/aragora/aragora/store"
)

// nomicWatcher announces the nomic cycles that finish while the server
// runs (written by aragora nomic run, another process) on the WebSocket
// control stream as nomic_cycle_finished (docs/websocket.md); the webhook
// event nomic.cycle_finished is written by the loop itself.
type nomicWatcher struct {
	st      store.NomicStore
	every   time.Duration
	publish func(outcome json.RawMessage)
}

func (w nomicWatcher) run(ctx context.Context) {
	seen := map[string]bool{}
	first := true
	poll := func() bool {
		if outs, err := w.st.ListNomicOutcomes(ctx, 20); err == nil {
			slices.Reverse(outs) // oldest first
			for _, o := range outs {
				if !seen[o.CycleID] && !first {
					w.publish(o.Doc)
				}
				seen[o.CycleID] = true
			}
			first = false
		}
		return true
	}
	poll()
	tick.Every(ctx, w.every, poll)
}

package service

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/memstore"
)

// TestNomicWatcherAnnouncesNewCycles: cycles finished before the server
// started are not announced; each one finished since is, once.
func TestNomicWatcherAnnouncesNewCycles(t *testing.T) {
	st := memstore.New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	save := func(v int64, id string) int64 {
		now := time.Now()
		nv, err := st.SaveNomicState(ctx, v, store.NomicWrite{Doc: json.RawMessage(`{}`), UpdatedAt: now,
			Outcome: &store.NomicOutcome{CycleID: id, Outcome: "success", StartedAt: now, FinishedAt: now, Doc: json.RawMessage(`{"cycle_id":"` + id + `"}`)}})
		require.NoError(t, err)
		return nv
	}
	v := save(0, "c_old")
	got := make(chan string, 10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		nomicWatcher{st: st, every: time.Millisecond, publish: func(doc json.RawMessage) {
			var o struct {
				CycleID string `json:"cycle_id"`
			}
			_ = json.Unmarshal(doc, &o)
			got <- o.CycleID
		}}.run(ctx)
	}()
	// Wait until the watcher has read the store once (c_old is then seen).
	for len(got) == 0 {
		v = save(v, "c_new"+time.Now().Format("150405.000000000"))
		select {
		case id := <-got:
			assert.NotEqual(t, "c_old", id)
			cancel()
			<-done
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

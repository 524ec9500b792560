package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/aragora/aragora/breaker"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/store"
)

// failingFanout refuses every publish with err.
type failingFanout struct{ err error }

func (f failingFanout) Publish(context.Context, store.Event) error { return f.err }
func (f failingFanout) Subscribe(context.Context, string) (<-chan store.Event, func(), error) {
	return nil, nil, f.err
}

// warnings records the Warn calls of a fanoutObserver.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) Warn(msg string, _ ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, msg)
}

// TestFanoutObserverQuietWhileCircuitOpen: a failed publish is a warning,
// but not while Redis's circuit is open (every event of every debate would
// be one line for the whole outage; the opening itself is logged).
func TestFanoutObserverQuietWhileCircuitOpen(t *testing.T) {
	e := debate.Event{DebateID: "deb_1", Seq: 3, Type: debate.EventRoundStart}
	var w warnings
	fanoutObserver{f: failingFanout{errors.New("redisstore: publish: connection refused")}, log: &w}.OnEvent(e)
	open := fmt.Errorf("redisstore: publish: %w", fmt.Errorf("%w: redis", breaker.ErrOpen))
	fanoutObserver{f: failingFanout{open}, log: &w}.OnEvent(e)
	assert.Equal(t, []string{"fanout_publish_failed"}, w.msgs)
}

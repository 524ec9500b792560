package ratelimit_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aragora/aragora/ratelimit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stubKeyed is a one-off failure-injecting primary.
type stubKeyed struct {
	calls atomic.Int64
	allow func(ctx context.Context, key string, l ratelimit.Limit) (ratelimit.Decision, error)
}

func (s *stubKeyed) Allow(ctx context.Context, key string, l ratelimit.Limit) (ratelimit.Decision, error) {
	s.calls.Add(1)
	return s.allow(ctx, key, l)
}

// logRecorder is a slog.Handler that keeps the messages.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.msgs = append(h.msgs, r.Message)
	h.mu.Unlock()
	return nil
}
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }
func (h *logRecorder) messages() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.msgs...)
}

// modeCounter records OnFallback calls.
type modeCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (m *modeCounter) inc(mode string) {
	m.mu.Lock()
	if m.n == nil {
		m.n = map[string]int{}
	}
	m.n[mode]++
	m.mu.Unlock()
}

func (m *modeCounter) get(mode string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n[mode]
}

var errDown = errors.New("connection refused")

func TestFallbackLocalSkipAndRecovery(t *testing.T) {
	t.Parallel()
	clock := newClock()
	var healthy atomic.Bool
	healthyMem := ratelimit.NewMemory(ratelimit.MemoryConfig{Now: clock.Now})
	primary := &stubKeyed{allow: func(ctx context.Context, key string, l ratelimit.Limit) (ratelimit.Decision, error) {
		if healthy.Load() {
			return healthyMem.Allow(ctx, key, l)
		}
		return ratelimit.Decision{}, errDown
	}}
	logs := &logRecorder{}
	modes := &modeCounter{}
	f := ratelimit.NewFallback(primary, ratelimit.NewMemory(ratelimit.MemoryConfig{Now: clock.Now}), ratelimit.FallbackConfig{
		Now: clock.Now, Logger: slog.New(logs), OnFallback: modes.inc,
	})
	ctx := context.Background()
	l := ratelimit.Limit{Rate: 2}

	healthy.Store(true)
	d, err := f.Allow(ctx, "k", l)
	require.NoError(t, err)
	assert.True(t, d.Allowed)
	assert.Equal(t, ratelimit.BackendStatus{Up: true, PrimaryDecisions: 1}, f.Status())

	healthy.Store(false)
	// The local limiter decides: it has its own budget of 2 for "k".
	for i, want := range []bool{true, true, false, false, false} {
		d, err := f.Allow(ctx, "k", l)
		require.NoError(t, err, "call %d", i)
		assert.Equal(t, want, d.Allowed, "call %d", i)
	}
	assert.Equal(t, int64(4), primary.calls.Load(), "after 3 failures the primary is skipped")
	assert.Equal(t, 5, modes.get(ratelimit.ModeLocal))
	st := f.Status()
	assert.False(t, st.Up)
	assert.True(t, st.FallbackActive)
	assert.True(t, st.Skipping)
	assert.Equal(t, clock.Now().Add(30*time.Second), st.SkipUntil)
	assert.Equal(t, uint64(3), st.PrimaryFailures)
	assert.Equal(t, uint64(5), st.LocalDecisions)
	assert.Equal(t, errDown.Error(), st.LastError)

	// Still down at the probe: skipped again, logged nothing new.
	clock.Advance(30 * time.Second)
	_, err = f.Allow(ctx, "k", l)
	require.NoError(t, err)
	assert.Equal(t, int64(5), primary.calls.Load(), "one probe")
	_, err = f.Allow(ctx, "k", l)
	require.NoError(t, err)
	assert.Equal(t, int64(5), primary.calls.Load(), "skipped again after a failed probe")

	healthy.Store(true)
	clock.Advance(30 * time.Second)
	d, err = f.Allow(ctx, "k", l)
	require.NoError(t, err)
	assert.True(t, d.Allowed)
	st = f.Status()
	assert.True(t, st.Up)
	assert.False(t, st.FallbackActive)
	assert.False(t, st.Skipping)
	assert.Equal(t, []string{"rate_limit_backend_down", "rate_limit_backend_skipped", "rate_limit_backend_recovered"}, logs.messages())
}

func TestFallbackFailOpen(t *testing.T) {
	t.Parallel()
	primary := &stubKeyed{allow: func(context.Context, string, ratelimit.Limit) (ratelimit.Decision, error) {
		return ratelimit.Decision{}, errDown
	}}
	modes := &modeCounter{}
	f := ratelimit.NewFallback(primary, nil, ratelimit.FallbackConfig{FailOpen: true, OnFallback: modes.inc})
	for range 10 {
		d, err := f.Allow(context.Background(), "k", ratelimit.Limit{Rate: 1})
		require.NoError(t, err)
		assert.True(t, d.Allowed)
	}
	assert.Equal(t, 10, modes.get(ratelimit.ModeFailOpen))
	assert.Equal(t, 0, modes.get(ratelimit.ModeLocal))
	st := f.Status()
	assert.True(t, st.FailOpen)
	assert.Equal(t, uint64(10), st.FailOpenDecisions)
}

func TestFallbackTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	primary := &stubKeyed{allow: func(ctx context.Context, _ string, _ ratelimit.Limit) (ratelimit.Decision, error) {
		<-release // ignores ctx, like a client without ContextTimeoutEnabled
		return ratelimit.Decision{Allowed: false}, nil
	}}
	f := ratelimit.NewFallback(primary, nil, ratelimit.FallbackConfig{Timeout: time.Millisecond})
	d, err := f.Allow(context.Background(), "k", ratelimit.Limit{Rate: 1})
	close(release)
	require.NoError(t, err)
	assert.True(t, d.Allowed, "the local limiter decided")
	st := f.Status()
	assert.False(t, st.Up)
	assert.Contains(t, st.LastError, context.DeadlineExceeded.Error())
}

func TestFallbackCallerCancelIsNotAFailure(t *testing.T) {
	t.Parallel()
	primary := &stubKeyed{allow: func(ctx context.Context, _ string, _ ratelimit.Limit) (ratelimit.Decision, error) {
		<-ctx.Done()
		return ratelimit.Decision{}, ctx.Err()
	}}
	f := ratelimit.NewFallback(primary, nil, ratelimit.FallbackConfig{Timeout: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d, err := f.Allow(ctx, "k", ratelimit.Limit{Rate: 1})
	require.NoError(t, err)
	assert.True(t, d.Allowed)
	assert.True(t, f.Status().Up)
}

func TestFallbackInvalidLimit(t *testing.T) {
	t.Parallel()
	f := ratelimit.NewFallback(ratelimit.NewMemory(ratelimit.MemoryConfig{}), nil, ratelimit.FallbackConfig{})
	_, err := f.Allow(context.Background(), "k", ratelimit.Limit{})
	require.ErrorIs(t, err, ratelimit.ErrInvalidLimit)
}

// gate is a primary whose calls block until released, failing or not.
type gate struct {
	entered chan struct{}
	release chan error
}

func (g *gate) Allow(ctx context.Context, _ string, l ratelimit.Limit) (ratelimit.Decision, error) {
	g.entered <- struct{}{}
	if err := <-g.release; err != nil {
		return ratelimit.Decision{}, err
	}
	return ratelimit.Decision{Allowed: true, Limit: l.Rate}, nil
}

// A reply that was already on its way when the primary went down does not
// declare it recovered: only a call begun after the failure may.
func TestFallbackIgnoresStaleSuccess(t *testing.T) {
	t.Parallel()
	g := &gate{entered: make(chan struct{}, 3), release: make(chan error)}
	f := ratelimit.NewFallback(g, nil, ratelimit.FallbackConfig{Timeout: time.Minute})
	lim := ratelimit.Limit{Rate: 100}
	stale := make(chan struct{})
	go func() {
		defer close(stale)
		_, _ = f.Allow(context.Background(), "k", lim) // begun while up
	}()
	failed := make(chan struct{})
	go func() {
		defer close(failed)
		_, _ = f.Allow(context.Background(), "k", lim)
	}()
	<-g.entered
	<-g.entered                                 // both calls are in flight
	g.release <- errors.New("connection reset") // one of the two fails: down
	require.Eventually(t, func() bool { return !f.Status().Up }, 10*time.Second, time.Millisecond)
	g.release <- nil // the other answers late
	<-stale
	<-failed
	assert.False(t, f.Status().Up, "a stale success does not flip the state")
	go func() { g.release <- nil }()
	_, err := f.Allow(context.Background(), "k", lim) // begun while down
	require.NoError(t, err)
	assert.True(t, f.Status().Up, "a fresh success recovers")
}

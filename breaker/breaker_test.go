package breaker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/breaker"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	openFor = 20 * time.Millisecond
	wait    = 5 * time.Second
	tick    = time.Millisecond
)

var (
	errServer = &agent.ProviderError{Provider: "p", StatusCode: 503, Err: errors.New("unavailable")}
	errRate   = &agent.ProviderError{Provider: "p", StatusCode: 429, Err: agent.ErrRateLimited}
	errQuota  = &agent.ProviderError{Provider: "p", StatusCode: 429, Err: fmt.Errorf("%w: insufficient_quota", agent.ErrQuotaExhausted)}
	errAuth   = &agent.ProviderError{Provider: "p", StatusCode: 401, Err: agent.ErrAuth}
	errBad    = &agent.ProviderError{Provider: "p", StatusCode: 400, Err: errors.New("bad request")}
)

func fail(err error) func(context.Context) error {
	return func(context.Context) error { return err }
}

func ok(context.Context) error { return nil }

func newCircuit(t *testing.T, cfg breaker.Config) *breaker.Circuit {
	t.Helper()
	c, err := breaker.New(cfg)
	require.NoError(t, err)
	return c
}

func trip(t *testing.T, c *breaker.Circuit, n int) {
	t.Helper()
	for range n {
		require.ErrorIs(t, c.Do(t.Context(), fail(errServer)), errServer)
	}
}

func TestStateString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		state breaker.State
		want  string
	}{
		{breaker.StateClosed, "closed"},
		{breaker.StateHalfOpen, "half_open"},
		{breaker.StateOpen, "open"},
		{breaker.State(9), "state(9)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, tt.state.String())
			var back breaker.State
			err := back.UnmarshalText([]byte(tt.want))
			if tt.state > breaker.StateOpen {
				assert.Error(t, err, "unknown states are rejected")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.state, back)
		})
	}
}

func TestErrOpenKind(t *testing.T) {
	t.Parallel()
	assert.Equal(t, agent.KindCircuitOpen, agent.KindOf(breaker.ErrOpen))
	assert.Equal(t, agent.KindCircuitOpen, agent.KindOf(fmt.Errorf("wrapped: %w", breaker.ErrOpen)))
	assert.False(t, agent.Retryable(breaker.ErrOpen))
}

func TestValidate(t *testing.T) {
	t.Parallel()
	_, err := breaker.New(breaker.Config{OpenFor: -time.Second})
	require.Error(t, err)
	_, err = breaker.NewRegistry(breaker.Config{OpenFor: -time.Second})
	require.Error(t, err)
}

func TestOpensAfterThresholdAndRejectsFast(t *testing.T) {
	t.Parallel()
	c := newCircuit(t, breaker.Config{Name: "a", MaxFailures: 3, OpenFor: time.Hour})
	trip(t, c, 2)
	assert.Equal(t, breaker.StateClosed, c.State())
	trip(t, c, 1)
	assert.Equal(t, breaker.StateOpen, c.State())

	var called atomic.Bool
	err := c.Do(t.Context(), func(context.Context) error { called.Store(true); return nil })
	require.ErrorIs(t, err, breaker.ErrOpen)
	assert.Equal(t, agent.KindCircuitOpen, agent.KindOf(err))
	assert.False(t, called.Load(), "an open circuit does not call through")
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c := newCircuit(t, breaker.Config{})
	trip(t, c, 4)
	assert.Equal(t, breaker.StateClosed, c.State())
	trip(t, c, 1)
	assert.Equal(t, breaker.StateOpen, c.State())
	s := c.Snapshot()
	assert.Equal(t, 5, s.FailureThreshold)
	assert.Equal(t, 30.0, s.OpenSeconds)
}

func TestHalfOpenCloseAndReopen(t *testing.T) {
	t.Parallel()
	c := newCircuit(t, breaker.Config{Name: "a", MaxFailures: 2, OpenFor: openFor})
	trip(t, c, 2)
	require.Equal(t, breaker.StateOpen, c.State())
	require.Eventually(t, func() bool { return c.State() == breaker.StateHalfOpen }, wait, tick)

	// A failed probe reopens it.
	require.ErrorIs(t, c.Do(t.Context(), fail(errServer)), errServer)
	assert.Equal(t, breaker.StateOpen, c.State())

	// After the next cooldown a successful probe closes it.
	require.Eventually(t, func() bool { return c.State() == breaker.StateHalfOpen }, wait, tick)
	require.NoError(t, c.Do(t.Context(), ok))
	assert.Equal(t, breaker.StateClosed, c.State())
	assert.Equal(t, 0, c.Snapshot().ConsecutiveFailures)
}

func TestHalfOpenAdmitsOneProbe(t *testing.T) {
	t.Parallel()
	c := newCircuit(t, breaker.Config{Name: "a", MaxFailures: 1, OpenFor: openFor})
	trip(t, c, 1)
	require.Eventually(t, func() bool { return c.State() == breaker.StateHalfOpen }, wait, tick)

	entered, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- c.Do(context.Background(), func(context.Context) error {
			close(entered)
			<-release
			return nil
		})
	}()
	<-entered
	require.ErrorIs(t, c.Do(t.Context(), ok), breaker.ErrOpen, "a second call while the probe is in flight is refused")
	close(release)
	require.NoError(t, <-done)
	assert.Equal(t, breaker.StateClosed, c.State())
}

func TestExcludedErrorsCountNeitherWay(t *testing.T) {
	t.Parallel()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		err  error
	}{
		{"rate_limited", errRate},
		{"quota_exhausted", errQuota},
		{"auth", errAuth},
		{"bad_request", errBad},
		{"cancelled", context.Canceled},
		{"cancelled_wrapped", fmt.Errorf("call: %w", cancelled.Err())},
		{"invalid_response", fmt.Errorf("p: %w", agent.ErrInvalidResponse)},
		{"open", breaker.ErrOpen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.False(t, breaker.IsFailure(tt.err))
			c := newCircuit(t, breaker.Config{Name: "a", MaxFailures: 2, OpenFor: time.Hour})
			trip(t, c, 1)
			for range 10 {
				require.ErrorIs(t, c.Do(t.Context(), fail(tt.err)), tt.err)
			}
			assert.Equal(t, breaker.StateClosed, c.State(), "not failures")
			assert.Equal(t, 1, c.Snapshot().ConsecutiveFailures, "and not successes either")
			trip(t, c, 1)
			assert.Equal(t, breaker.StateOpen, c.State())
		})
	}
}

func TestFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
	}{
		{"server", errServer},
		{"deadline", context.DeadlineExceeded},
		{"deadline_wrapped", &agent.ProviderError{Provider: "p", Err: fmt.Errorf("post: %w", context.DeadlineExceeded)}},
		{"connection", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}},
		{"status0", &agent.ProviderError{Provider: "p", Err: errors.New("unexpected EOF")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.True(t, breaker.IsFailure(tt.err))
			c := newCircuit(t, breaker.Config{Name: "a", MaxFailures: 2, OpenFor: time.Hour})
			for range 2 {
				require.ErrorIs(t, c.Do(t.Context(), fail(tt.err)), tt.err)
			}
			assert.Equal(t, breaker.StateOpen, c.State())
		})
	}
}

func TestSuccessResetsCount(t *testing.T) {
	t.Parallel()
	c := newCircuit(t, breaker.Config{Name: "a", MaxFailures: 2, OpenFor: time.Hour})
	trip(t, c, 1)
	require.NoError(t, c.Do(t.Context(), ok))
	trip(t, c, 1)
	assert.Equal(t, breaker.StateClosed, c.State())
}

func TestSnapshot(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 1, 15, 10, 29, 41, 0, time.UTC)
	c := newCircuit(t, breaker.Config{Name: "claude", MaxFailures: 2, OpenFor: time.Hour, Now: func() time.Time { return now }})
	s := c.Snapshot()
	assert.Equal(t, breaker.Snapshot{State: breaker.StateClosed, FailureThreshold: 2, OpenSeconds: 3600}, s)

	trip(t, c, 2)
	s = c.Snapshot()
	assert.Equal(t, breaker.StateOpen, s.State)
	assert.Equal(t, 2, s.ConsecutiveFailures)
	require.NotNil(t, s.OpenedAt)
	assert.Equal(t, now, *s.OpenedAt)
	require.NotNil(t, s.NextProbeAt)
	assert.Equal(t, now.Add(time.Hour), *s.NextProbeAt)
	require.NotNil(t, s.LastFailure)
	assert.Equal(t, agent.KindServer, s.LastFailure.Kind)
	assert.Equal(t, errServer.Error(), s.LastFailure.Message)
	assert.Equal(t, now, s.LastFailure.At)

	b, err := json.Marshal(s)
	require.NoError(t, err)
	assert.JSONEq(t, `{"state":"open","consecutive_failures":2,"failure_threshold":2,"open_seconds":3600,
		"opened_at":"2024-01-15T10:29:41Z","next_probe_at":"2024-01-15T11:29:41Z",
		"last_failure":{"kind":"server","message":"agent: p: status 503: unavailable","at":"2024-01-15T10:29:41Z"}}`, string(b))
}

// transitions collects state changes.
type transitions struct {
	mu  sync.Mutex
	got []string
}

func (tr *transitions) add(name string, from, to breaker.State) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.got = append(tr.got, name+":"+from.String()+"->"+to.String())
}

func (tr *transitions) list() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.got...)
}

func TestCircuitOnStateChange(t *testing.T) {
	t.Parallel()
	var tr transitions
	var c *breaker.Circuit
	c = newCircuit(t, breaker.Config{Name: "a", MaxFailures: 1, OpenFor: openFor, OnStateChange: func(name string, from, to breaker.State) {
		tr.add(name, from, to)
		_ = c.Snapshot() // callbacks may call back into the circuit
	}})
	trip(t, c, 1)
	require.Eventually(t, func() bool { return c.State() == breaker.StateHalfOpen }, wait, tick)
	require.NoError(t, c.Do(t.Context(), ok))
	assert.Equal(t, []string{"a:closed->open", "a:open->half_open", "a:half_open->closed"}, tr.list())
}

func TestRegistry(t *testing.T) {
	t.Parallel()
	var first, second transitions
	reg, err := breaker.NewRegistry(breaker.Config{MaxFailures: 2, OpenFor: time.Hour, OnStateChange: first.add})
	require.NoError(t, err)
	reg.OnStateChange(second.add)
	reg.OnStateChange(func(string, breaker.State, breaker.State) { _ = reg.Snapshot() }) // may call back

	a := reg.Get("a")
	assert.Same(t, a, reg.Get("a"))
	reg.Get("b")
	assert.Equal(t, []string{"a", "b"}, reg.Names())
	assert.Equal(t, "a", a.Name())

	trip(t, a, 2)
	snap := reg.Snapshot()
	require.Len(t, snap, 2)
	assert.Equal(t, breaker.StateOpen, snap["a"].State)
	assert.Equal(t, breaker.StateClosed, snap["b"].State)

	assert.Equal(t, breaker.StateOpen, reg.Reset("a"))
	assert.NotSame(t, a, reg.Get("a"), "reset replaces the instance")
	assert.Equal(t, breaker.StateClosed, reg.Get("a").State())
	assert.Equal(t, breaker.StateClosed, reg.Reset("b"))
	assert.Equal(t, breaker.StateClosed, reg.Reset("never-used"))
	assert.Equal(t, []string{"a", "b"}, reg.Names(), "resetting an unknown name creates nothing")

	want := []string{"a:closed->open", "a:open->closed"}
	assert.Equal(t, want, first.list())
	assert.Equal(t, want, second.list())

	// The retired circuit no longer reports changes.
	require.ErrorIs(t, a.Do(t.Context(), ok), breaker.ErrOpen)
	assert.Equal(t, want, first.list())
}

func TestRegistryConcurrent(t *testing.T) {
	t.Parallel()
	reg, err := breaker.NewRegistry(breaker.Config{MaxFailures: 5, OpenFor: time.Hour})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				name := fmt.Sprintf("agent-%d", (i+j)%3)
				_ = reg.Get(name).Do(context.Background(), fail(errServer))
				_ = reg.Snapshot()
				if j%17 == 0 {
					reg.Reset(name)
				}
			}
		})
	}
	wg.Wait()
	assert.Len(t, reg.Names(), 3)
}

type streamer struct{ agent.Func }

func (s streamer) RespondStream(ctx context.Context, req agent.Request, onChunk func(string)) (agent.Response, error) {
	onChunk("x")
	return s.Func(ctx, req)
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	reg, err := breaker.NewRegistry(breaker.Config{MaxFailures: 2, OpenFor: time.Hour})
	require.NoError(t, err)
	var calls atomic.Int32
	failing := agent.Func(func(context.Context, agent.Request) (agent.Response, error) {
		calls.Add(1)
		return agent.Response{}, errServer
	})
	a := breaker.Middleware(reg, "p")(failing)
	_, isStreamer := a.(agent.Streamer)
	assert.False(t, isStreamer, "a plain agent stays plain")
	for range 2 {
		_, err := a.Respond(t.Context(), agent.Request{})
		require.ErrorIs(t, err, errServer)
	}
	_, err = a.Respond(t.Context(), agent.Request{})
	require.ErrorIs(t, err, breaker.ErrOpen)
	assert.Equal(t, int32(2), calls.Load())

	// A reset takes effect on the same middleware.
	reg.Reset("p")
	_, err = a.Respond(t.Context(), agent.Request{})
	require.ErrorIs(t, err, errServer)

	t.Run("Streamer", func(t *testing.T) {
		t.Parallel()
		s := breaker.Middleware(reg, "s")(streamer{agent.Func(func(context.Context, agent.Request) (agent.Response, error) {
			return agent.Response{Text: "x"}, nil
		})})
		st, ok := s.(agent.Streamer)
		require.True(t, ok, "a Streamer stays a Streamer")
		var chunks []string
		resp, err := st.RespondStream(t.Context(), agent.Request{}, func(c string) { chunks = append(chunks, c) })
		require.NoError(t, err)
		assert.Equal(t, "x", resp.Text)
		assert.Equal(t, []string{"x"}, chunks)
	})
}

package agent_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/agent"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// kindErr is an error naming its own kind, like breaker.ErrOpen.
type kindErr agent.Kind

func (k kindErr) Error() string         { return "kind " + string(k) }
func (k kindErr) AgentKind() agent.Kind { return agent.Kind(k) }

var (
	errOpen      error = kindErr(agent.KindCircuitOpen)
	err503             = &agent.ProviderError{Provider: "p", StatusCode: 503, Err: errors.New("unavailable")}
	err500             = &agent.ProviderError{Provider: "p", StatusCode: 500, Err: errors.New("internal")}
	err429             = &agent.ProviderError{Provider: "p", StatusCode: 429, RetryAfter: 7 * time.Second, Err: agent.ErrRateLimited}
	err429NoHint       = &agent.ProviderError{Provider: "p", StatusCode: 429, Err: agent.ErrRateLimited}
	errQuota           = &agent.ProviderError{Provider: "p", StatusCode: 429, Err: fmt.Errorf("%w: insufficient_quota", agent.ErrQuotaExhausted)}
	err402             = &agent.ProviderError{Provider: "p", StatusCode: 402, Err: errors.New("payment required")}
	err400             = &agent.ProviderError{Provider: "p", StatusCode: 400, Err: errors.New("bad request")}
	err401             = &agent.ProviderError{Provider: "p", StatusCode: 401, Err: agent.ErrAuth}
	err403             = &agent.ProviderError{Provider: "p", StatusCode: 403, Err: agent.ErrAuth}
	errConn            = &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	errInvalid         = fmt.Errorf("p: %w", agent.ErrInvalidResponse)
)

// script is a fake agent answering from a list of errors (nil = success),
// streaming "chunk" before failing when chunkFirst is set.
type script struct {
	mu         sync.Mutex
	errs       []error
	calls      int
	chunkFirst bool
	model      string
}

func (s *script) next() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	var err error
	if len(s.errs) > 0 {
		err, s.errs = s.errs[0], s.errs[1:]
	}
	return s.calls, err
}

func (s *script) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func (s *script) Respond(ctx context.Context, req agent.Request) (agent.Response, error) {
	n, err := s.next()
	if err != nil {
		return agent.Response{}, err
	}
	return agent.Response{Text: fmt.Sprintf("reply %d", n), Provider: "p", Model: s.model}, nil
}

// streamScript is a script that streams.
type streamScript struct{ *script }

func (s streamScript) RespondStream(ctx context.Context, req agent.Request, onChunk func(string)) (agent.Response, error) {
	if s.chunkFirst {
		onChunk("chunk")
	}
	resp, err := s.Respond(ctx, req)
	if err == nil {
		onChunk(resp.Text)
	}
	return resp, err
}

// fakeSleep records the delays asked for without sleeping.
type fakeSleep struct {
	mu     sync.Mutex
	delays []time.Duration
	err    error
}

func (f *fakeSleep) Sleep(_ context.Context, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delays = append(f.delays, d)
	return f.err
}

func retryConfig(s *fakeSleep) agent.RetryConfig {
	return agent.RetryConfig{Rand: func() float64 { return 0.5 }, Sleep: s.Sleep}
}

func TestRetry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		errs     []error
		wantErr  error
		attempts int
		delays   []time.Duration
	}{
		{"success", nil, nil, 1, nil},
		{"503 then success", []error{err503, nil}, nil, 2, []time.Duration{time.Second}},
		{"503 twice then success", []error{err503, err500, nil}, nil, 3, []time.Duration{time.Second, 2 * time.Second}},
		{"503 for good", []error{err503, err503, err503, nil}, err503, 3, []time.Duration{time.Second, 2 * time.Second}},
		{"Retry-After honoured", []error{err429, nil}, nil, 2, []time.Duration{7*time.Second + 125*time.Millisecond}},
		{"429 without hint", []error{err429NoHint, nil}, nil, 2, []time.Duration{time.Second}},
		{"connection error", []error{errConn, nil}, nil, 2, []time.Duration{time.Second}},
		{"attempt timeout", []error{context.DeadlineExceeded, nil}, nil, 2, []time.Duration{time.Second}},
		{"400", []error{err400}, err400, 1, nil},
		{"401", []error{err401}, err401, 1, nil},
		{"403", []error{err403}, err403, 1, nil},
		{"quota 429", []error{errQuota}, errQuota, 1, nil},
		{"402", []error{err402}, err402, 1, nil},
		{"circuit open", []error{errOpen}, errOpen, 1, nil},
		{"cancelled", []error{context.Canceled}, context.Canceled, 1, nil},
		{"invalid response", []error{errInvalid}, errInvalid, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var sl fakeSleep
			s := &script{errs: tt.errs}
			a := agent.Chain(s, agent.Retry(retryConfig(&sl)))
			resp, err := a.Respond(t.Context(), agent.Request{})
			assert.Equal(t, tt.attempts, s.count())
			assert.Equal(t, tt.delays, sl.delays)
			if tt.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, tt.attempts, resp.Attempts)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
			assert.Equal(t, tt.attempts, agent.Attempts(err))
			assert.Equal(t, agent.KindOf(tt.wantErr), agent.KindOf(err))
			var ae *agent.AttemptsError
			require.ErrorAs(t, err, &ae)
		})
	}
}

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	var cfg agent.RetryConfig
	tests := []struct {
		name string
		n    int
		err  error
		u    float64
		want time.Duration
	}{
		{"first low", 1, err503, 0, 700 * time.Millisecond},
		{"first mid", 1, err503, 0.5, time.Second},
		{"first high", 1, err503, 1, 1300 * time.Millisecond},
		{"second", 2, err503, 0.5, 2 * time.Second},
		{"fifth", 5, err503, 0.5, 16 * time.Second},
		{"capped", 6, err503, 0.5, 30 * time.Second},
		{"capped high", 6, err503, 1, 39 * time.Second},
		{"huge n", 100, err503, 0.5, 30 * time.Second},
		{"retry-after never less", 1, err429, 0, 7 * time.Second},
		{"retry-after plus jitter", 1, err429, 1, 7*time.Second + 250*time.Millisecond},
		{"retry-after not capped", 1, &agent.ProviderError{StatusCode: 429, RetryAfter: time.Minute}, 0, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, cfg.Delay(tt.n, tt.err, tt.u))
		})
	}
}

func TestRetryDeadlineCutOff(t *testing.T) {
	t.Parallel()
	now := time.Now()
	ctx, cancel := context.WithDeadline(t.Context(), now.Add(time.Hour))
	defer cancel()
	var sl fakeSleep
	cfg := retryConfig(&sl)
	cfg.Now = func() time.Time { return now }
	long := &agent.ProviderError{Provider: "p", StatusCode: 429, RetryAfter: 2 * time.Hour, Err: agent.ErrRateLimited}
	s := &script{errs: []error{long, nil}}
	_, err := agent.Chain(s, agent.Retry(cfg)).Respond(ctx, agent.Request{})
	require.ErrorIs(t, err, long)
	assert.Equal(t, 1, s.count(), "a wait past the deadline returns the last error at once")
	assert.Empty(t, sl.delays)
	assert.Equal(t, 1, agent.Attempts(err))
}

func TestRetryCancelledWhileWaiting(t *testing.T) {
	t.Parallel()
	sl := fakeSleep{err: context.Canceled}
	s := &script{errs: []error{err503, nil}}
	_, err := agent.Chain(s, agent.Retry(retryConfig(&sl))).Respond(t.Context(), agent.Request{})
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, agent.KindCancelled, agent.KindOf(err))
	assert.Equal(t, 1, s.count())
}

func TestRetryRealSleepHonoursContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	s := agent.Func(func(context.Context, agent.Request) (agent.Response, error) {
		cancel() // the caller gives up during the first wait
		return agent.Response{}, err503
	})
	_, err := agent.Chain(s, agent.Retry(agent.RetryConfig{BaseDelay: time.Hour})).Respond(ctx, agent.Request{})
	require.ErrorIs(t, err, err503, "cancelled before waiting: the last error")
	assert.Equal(t, 1, agent.Attempts(err))
}

func TestRetryStream(t *testing.T) {
	t.Parallel()
	t.Run("retried before the first chunk", func(t *testing.T) {
		t.Parallel()
		var sl fakeSleep
		s := streamScript{&script{errs: []error{err503, nil}}}
		a := agent.Chain(s, agent.Retry(retryConfig(&sl)))
		st, ok := a.(agent.Streamer)
		require.True(t, ok, "Retry preserves Streamer")
		var chunks []string
		resp, err := st.RespondStream(t.Context(), agent.Request{}, func(c string) { chunks = append(chunks, c) })
		require.NoError(t, err)
		assert.Equal(t, 2, resp.Attempts)
		assert.Equal(t, []string{"reply 2"}, chunks)
	})
	t.Run("never after a chunk", func(t *testing.T) {
		t.Parallel()
		var sl fakeSleep
		s := streamScript{&script{errs: []error{err503, nil}, chunkFirst: true}}
		st := agent.Chain(s, agent.Retry(retryConfig(&sl))).(agent.Streamer)
		_, err := st.RespondStream(t.Context(), agent.Request{}, func(string) {})
		require.ErrorIs(t, err, err503)
		assert.Equal(t, 1, s.count())
	})
	t.Run("plain agent stays plain", func(t *testing.T) {
		t.Parallel()
		_, ok := agent.Chain(&script{}, agent.Retry(agent.RetryConfig{})).(agent.Streamer)
		assert.False(t, ok)
	})
}

func TestAttemptsError(t *testing.T) {
	t.Parallel()
	assert.Equal(t, 0, agent.Attempts(nil))
	assert.Equal(t, 0, agent.Attempts(err503))
	e := &agent.AttemptsError{Attempts: 3, Err: err503}
	assert.Equal(t, 3, agent.Attempts(fmt.Errorf("wrapped: %w", e)))
	assert.Equal(t, "agent: after 3 attempts: "+err503.Error(), e.Error())
	assert.Equal(t, err503.Error(), (&agent.AttemptsError{Attempts: 1, Err: err503}).Error())
	assert.Equal(t, 503, agent.StatusCode(e))
}

// TestSleep checks agent.Sleep's three outcomes: a wait that passes, a
// context already done (its error, even for d ≤ 0) and a d ≤ 0 that does
// not wait.
func TestSleep(t *testing.T) {
	t.Parallel()
	require.NoError(t, agent.Sleep(context.Background(), time.Millisecond))
	require.NoError(t, agent.Sleep(context.Background(), 0))
	require.NoError(t, agent.Sleep(context.Background(), -time.Second))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, agent.Sleep(ctx, time.Hour), context.Canceled)
	require.ErrorIs(t, agent.Sleep(ctx, 0), context.Canceled)

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(time.Millisecond, cancel)
	require.ErrorIs(t, agent.Sleep(ctx, time.Hour), context.Canceled, "ends with its context")
}

package agent

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// Retry defaults (docs/agents.md#middleware).
const (
	DefaultMaxAttempts = 3
	DefaultBaseDelay   = time.Second
	DefaultMaxDelay    = 30 * time.Second
	// RetryAfterJitter is the most added to a provider's Retry-After hint.
	RetryAfterJitter = 250 * time.Millisecond
)

// RetryConfig tunes Retry. The zero value gives the policy of docs/agents.md#middleware.
type RetryConfig struct {
	// MaxAttempts is the number of attempts, the first included; default 3.
	MaxAttempts int
	// BaseDelay is the delay before the second attempt, before jitter;
	// default 1 s. It doubles for each later attempt.
	BaseDelay time.Duration
	// MaxDelay caps the backoff before jitter; default 30 s. It does not cap
	// a provider's Retry-After.
	MaxDelay time.Duration
	// Rand returns a uniform number in [0, 1) for jitter; default
	// math/rand/v2.Float64.
	Rand func() float64
	// Sleep waits d or until ctx is done, returning ctx's error then;
	// default a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now tells whether a delay would pass the context deadline; default
	// time.Now.
	Now func() time.Time
	// OnRetry, when set, is called before each wait for another attempt,
	// with the call's context, the attempt that failed (1 for the first),
	// its error and the wait: the hook of a tracer's span events
	// (docs/observability.md#traces). It must return quickly; nil: none.
	OnRetry func(ctx context.Context, attempt int, err error, wait time.Duration)
}

func (c RetryConfig) withDefaults() RetryConfig {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.BaseDelay <= 0 {
		c.BaseDelay = DefaultBaseDelay
	}
	if c.MaxDelay <= 0 {
		c.MaxDelay = DefaultMaxDelay
	}
	if c.Rand == nil {
		c.Rand = rand.Float64
	}
	if c.Sleep == nil {
		c.Sleep = Sleep
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Sleep waits d, or until ctx is done, and then returns ctx.Err() (nil
// when d passed first). A d ≤ 0 does not wait. It is [RetryConfig]'s
// default Sleep, and the one wait the engine's helpers share.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Delay returns the wait before attempt n+1 after attempt n failed with err
// (n ≥ 1), drawing u uniform in [0, 1): RetryAfter(err) plus u·250 ms when
// the provider gave a hint, else min(MaxDelay, BaseDelay·2^(n−1)) scaled by
// 0.7 + 0.6·u. Zero fields of c take their defaults.
func (c RetryConfig) Delay(n int, err error, u float64) time.Duration {
	c = c.withDefaults()
	if ra := RetryAfter(err); ra > 0 {
		return ra + time.Duration(math.Round(u*float64(RetryAfterJitter)))
	}
	d := c.MaxDelay
	if n < 1 {
		n = 1
	}
	if n <= 32 {
		d = min(c.MaxDelay, c.BaseDelay<<(n-1))
		if d <= 0 { // overflow
			d = c.MaxDelay
		}
	}
	return time.Duration(math.Round(float64(d) * (0.7 + 0.6*u)))
}

// AttemptsError reports a call that failed for good after Attempts
// attempts. Retry returns it; it unwraps to the last attempt's error, so
// KindOf, errors.Is and errors.As see through it.
type AttemptsError struct {
	Attempts int
	Err      error
}

// Error returns the last error's message, prefixed with the attempt count
// when there was more than one attempt.
func (e *AttemptsError) Error() string {
	if e.Attempts <= 1 {
		return e.Err.Error()
	}
	return fmt.Sprintf("agent: after %d attempts: %v", e.Attempts, e.Err)
}

// Unwrap returns the last attempt's error.
func (e *AttemptsError) Unwrap() error { return e.Err }

// Attempts returns the number of attempts recorded by the first
// *AttemptsError in err's chain, or 0 when err carries none.
func Attempts(err error) int {
	var ae *AttemptsError
	if errors.As(err, &ae) {
		return ae.Attempts
	}
	return 0
}

// Retry retries failed calls whose errors are Retryable (docs/agents.md#middleware):
// at most cfg.MaxAttempts (3) attempts, waiting cfg.Delay between them. It
// stops at once, returning the last error, on an error that is not
// retryable, when the wait would pass ctx's deadline, or when ctx is done.
// A successful Response has Attempts set; a final error is an
// *AttemptsError. Structural critiques, votes and judgements are retried
// under the same rules, and the result keeps the wrapped agent's
// capabilities ([Wrap]); a stream that has delivered a chunk is never
// retried, since its text would repeat.
func Retry(cfg RetryConfig) Middleware {
	cfg = cfg.withDefaults()
	return func(next Agent) Agent {
		return Wrap(next, func(ctx context.Context, c Call) (Response, error) {
			var delivered atomic.Bool
			if onChunk := c.OnChunk; onChunk != nil {
				c.OnChunk = func(s string) { delivered.Store(true); onChunk(s) }
			}
			for n := 1; ; n++ {
				resp, err := c.Next(ctx)
				if err == nil {
					resp.Attempts = n
					return resp, nil
				}
				if n >= cfg.MaxAttempts || delivered.Load() || !Retryable(err) || ctx.Err() != nil {
					return resp, &AttemptsError{Attempts: n, Err: err}
				}
				d := cfg.Delay(n, err, cfg.Rand())
				if deadline, ok := ctx.Deadline(); ok && cfg.Now().Add(d).After(deadline) {
					return resp, &AttemptsError{Attempts: n, Err: err}
				}
				if cfg.OnRetry != nil {
					cfg.OnRetry(ctx, n, err, d)
				}
				if serr := cfg.Sleep(ctx, d); serr != nil {
					return Response{}, &AttemptsError{Attempts: n, Err: fmt.Errorf("agent: retry wait: %w (last error: %v)", serr, err)}
				}
			}
		})
	}
}

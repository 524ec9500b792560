package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/aragora/aragora/agent"
	"golang.org/x/time/rate"
)

// Window is the period of every [Limit]: Rate events per Window.
const Window = 60 * time.Second

// ErrLimited reports that an event could not be admitted before its
// deadline. agent.KindOf reports it as agent.KindRateLimited.
var ErrLimited error = limitedError{}

type limitedError struct{}

func (limitedError) Error() string         { return "ratelimit: limit exceeded" }
func (limitedError) AgentKind() agent.Kind { return agent.KindRateLimited }

var _ agent.Kinder = limitedError{}

// ErrInvalidLimit reports a [Limit] whose Rate is below 1 or whose Burst is
// negative.
var ErrInvalidLimit = errors.New("ratelimit: invalid limit")

// Limit is a GCRA limit: Rate events per [Window], with bursts of up to
// Burst events. A zero Burst means Burst = Rate, the burst of docs/http-api.md#rate-limits.
type Limit struct {
	Rate  int
	Burst int
}

// Validate returns an error wrapping [ErrInvalidLimit] when l.Rate < 1 or
// l.Burst < 0.
func (l Limit) Validate() error {
	if l.Rate < 1 || l.Burst < 0 {
		return fmt.Errorf("%w: rate %d, burst %d", ErrInvalidLimit, l.Rate, l.Burst)
	}
	return nil
}

// EffectiveBurst returns Burst, or Rate when Burst is zero.
func (l Limit) EffectiveBurst() int {
	if l.Burst == 0 {
		return l.Rate
	}
	return l.Burst
}

// Interval returns the time one event's budget takes to refill: Window/Rate.
func (l Limit) Interval() time.Duration {
	if l.Rate < 1 {
		return 0
	}
	return Window / time.Duration(l.Rate)
}

// Decision is the outcome of one [Keyed.Allow] call.
type Decision struct {
	// Allowed reports whether the event was admitted (and counted).
	Allowed bool
	// Limit is the limit's Rate, the value of X-RateLimit-Limit.
	Limit int
	// Remaining is the number of events admissible right now after this
	// one, the value of X-RateLimit-Remaining.
	Remaining int
	// ResetAfter is the time until the budget is full again (the key is
	// then idle); X-RateLimit-Reset is ResetAfter in whole seconds,
	// rounded up.
	ResetAfter time.Duration
	// RetryAfter is the time until the next event may be admitted; zero
	// when Allowed.
	RetryAfter time.Duration
}

// ResetSeconds returns ResetAfter in whole seconds rounded up (0 when the
// budget is full): the X-RateLimit-Reset header.
func (d Decision) ResetSeconds() int { return ceilSeconds(d.ResetAfter) }

// RetryAfterSeconds returns RetryAfter in whole seconds rounded up, at
// least 1: the Retry-After header of a refusal.
func (d Decision) RetryAfterSeconds() int { return max(1, ceilSeconds(d.RetryAfter)) }

// ceilSeconds rounds d to the millisecond (to absorb float noise) and then
// up to whole seconds.
func ceilSeconds(d time.Duration) int {
	d = d.Round(time.Millisecond)
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}

// Keyed admits events per key. Implementations must be safe for concurrent
// use.
type Keyed interface {
	// Allow decides one event for key under limit l, counting it when
	// admitted. It returns an error wrapping ErrInvalidLimit for a bad l,
	// and may return backend errors (never for a refusal: that is
	// Decision.Allowed == false).
	Allow(ctx context.Context, key string, l Limit) (Decision, error)
}

// Peeker is an optional capability of a [Keyed] limiter: Peek reports the
// decision an event would get without counting one (Allowed tells whether
// one would be admitted). Unknown keys have a full budget.
type Peeker interface {
	Peek(ctx context.Context, key string, l Limit) (Decision, error)
}

// Limiter blocks until one event may happen or ctx is done. *rate.Limiter
// satisfies it; rate.Limiter.Wait fails at once when the wait would pass
// ctx's deadline.
type Limiter interface {
	Wait(ctx context.Context) error
}

var _ Limiter = (*rate.Limiter)(nil)

// Middleware delays each agent call until l admits it. When l refuses
// (the wait would pass ctx's deadline) the call fails with an error
// wrapping ErrLimited; when ctx ends first it fails with ctx.Err(). Every
// capability is limited (streams and structural critiques, votes and
// judgements too), and the result keeps the wrapped agent's capabilities
// (agent.Wrap).
func Middleware(l Limiter) agent.Middleware {
	return func(next agent.Agent) agent.Agent {
		return agent.Wrap(next, func(ctx context.Context, c agent.Call) (agent.Response, error) {
			if err := l.Wait(ctx); err != nil {
				if ctx.Err() != nil {
					return agent.Response{}, ctx.Err()
				}
				// x/time/rate reports "would exceed context deadline" as a plain error.
				return agent.Response{}, fmt.Errorf("%w: %v", ErrLimited, err)
			}
			return c.Next(ctx)
		})
	}
}

// PerKey delays each agent call until k admits an event for key(req) under
// limit l, so that calls to one provider (or model, or API key) are spread
// over time; with a shared [Keyed] limiter (redislimit) the budget is shared
// by every replica. An empty key leaves the call unlimited. The call fails
// at once with an error wrapping ErrLimited when the next admission would
// come after ctx's deadline, with ctx.Err() when ctx ends while waiting, and
// with the limiter's error when k fails (wrap k in a [Fallback] to avoid
// that). Every capability is limited, and the result keeps the wrapped
// agent's capabilities (agent.Wrap).
func PerKey(k Keyed, l Limit, key func(req agent.Request) string) agent.Middleware {
	return func(next agent.Agent) agent.Agent {
		return agent.Wrap(next, func(ctx context.Context, c agent.Call) (agent.Response, error) {
			if err := waitKeyed(ctx, k, key(c.Request), l); err != nil {
				return agent.Response{}, err
			}
			return c.Next(ctx)
		})
	}
}

func waitKeyed(ctx context.Context, k Keyed, key string, l Limit) error {
	if key == "" {
		return nil
	}
	for {
		d, err := k.Allow(ctx, key, l)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("ratelimit: %s: %w", key, err)
		}
		if d.Allowed {
			return nil
		}
		wait := max(d.RetryAfter, time.Millisecond)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return fmt.Errorf("%w: %s: next slot in %s, after the deadline", ErrLimited, key, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// rate returns l.Rate as an x/time/rate limit (events per second).
func (l Limit) rate() rate.Limit { return rate.Limit(float64(l.Rate) / Window.Seconds()) }

// durationFor returns how long tokens take to accrue under l.
func (l Limit) durationFor(tokens float64) time.Duration {
	if tokens <= 0 {
		return 0
	}
	s := tokens * Window.Seconds() / float64(l.Rate)
	if s > math.MaxInt64/float64(time.Second) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(s * float64(time.Second))
}

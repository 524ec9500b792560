// Package redislimit is a ratelimit.Keyed limiter in Redis: GCRA in one Lua
// script (go-redis/redis_rate/v10), so that every replica shares each key's
// budget. Redis computes time with its own clock (TIME).
//
// Wrap it in a ratelimit.Fallback so that a slow or failing Redis never
// fails a request: the local limiter decides (or, in fail-open mode, the
// request is allowed) and Redis is skipped for a while after repeated
// failures.
//
// The client should have ContextTimeoutEnabled set, so that the Fallback's
// deadline also ends the Redis call (the Fallback stops waiting anyway).
package redislimit

import (
	"context"
	"fmt"
	"time"

	"github.com/aragora/aragora/ratelimit"
	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// KeyspacePrefix is the prefix redis_rate puts before every key (and so
// before Config.Prefix).
const KeyspacePrefix = "rate:"

// Config tunes a [Limiter]. The zero value is usable.
type Config struct {
	// Prefix is put before every key (after KeyspacePrefix), to share a
	// Redis database; default "aragora:ratelimit:".
	Prefix string
}

func (c Config) withDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = "aragora:ratelimit:"
	}
	return c
}

// Limiter is a Redis GCRA ratelimit.Keyed limiter. It is safe for
// concurrent use. Create it with [NewFromClient]; the zero value is not
// usable. It does not own the client: closing it is the caller's job.
type Limiter struct {
	rl     *redis_rate.Limiter
	rdb    redis.UniversalClient
	prefix string
}

var (
	_ ratelimit.Keyed  = (*Limiter)(nil)
	_ ratelimit.Peeker = (*Limiter)(nil)
)

// NewFromClient returns a Limiter using rdb (a *redis.Client,
// *redis.ClusterClient or *redis.Ring).
func NewFromClient(rdb redis.UniversalClient, cfg Config) *Limiter {
	cfg = cfg.withDefaults()
	return &Limiter{rl: redis_rate.NewLimiter(rdb), rdb: rdb, prefix: cfg.Prefix}
}

// Allow implements ratelimit.Keyed. Redis errors are returned wrapped.
func (l *Limiter) Allow(ctx context.Context, key string, lim ratelimit.Limit) (ratelimit.Decision, error) {
	return l.do(ctx, "allow", key, lim, 1)
}

// Peek implements ratelimit.Peeker (a GCRA call of cost 0).
func (l *Limiter) Peek(ctx context.Context, key string, lim ratelimit.Limit) (ratelimit.Decision, error) {
	return l.do(ctx, "peek", key, lim, 0)
}

// Reset forgets key, so its budget is full again.
func (l *Limiter) Reset(ctx context.Context, key string) error {
	if err := l.rl.Reset(ctx, l.prefix+key); err != nil {
		return fmt.Errorf("redislimit: reset %q: %w", key, err)
	}
	return nil
}

func (l *Limiter) do(ctx context.Context, op, key string, lim ratelimit.Limit, n int) (ratelimit.Decision, error) {
	if err := lim.Validate(); err != nil {
		return ratelimit.Decision{}, err
	}
	rl := redis_rate.Limit{Rate: lim.Rate, Burst: lim.EffectiveBurst(), Period: ratelimit.Window}
	res, err := l.rl.AllowN(ctx, l.prefix+key, rl, n)
	if err != nil {
		return ratelimit.Decision{}, fmt.Errorf("redislimit: %s %q: %w", op, key, err)
	}
	d := ratelimit.Decision{
		Allowed:    res.Allowed > 0 || (n == 0 && res.Remaining >= 1),
		Limit:      lim.Rate,
		Remaining:  max(0, res.Remaining),
		ResetAfter: max(0, res.ResetAfter),
	}
	if !d.Allowed {
		retry := res.RetryAfter
		if n == 0 {
			// A peek costs nothing, so Redis reports no retry time: the next
			// event fits once the backlog is under burst-1 intervals.
			retry = res.ResetAfter - time.Duration(rl.Burst-1)*lim.Interval()
		}
		d.RetryAfter = max(retry, time.Nanosecond)
	}
	return d, nil
}

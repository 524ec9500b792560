package service

import (
	"context"
	"errors"
	"log/slog"

	"github.com/redis/go-redis/v9"

	"github.com/aragora/aragora/breaker"
)

// redisBreaker is the circuit breaker of the service's Redis client, a
// go-redis hook every command and pipeline passes through: timeouts and
// connection errors count as failures (docs/http-api.md#agents); after
// ARAGORA_CB_FAILURE_THRESHOLD in a row the circuit opens and commands
// fail at once (the fan-out then polls the store, the rate limiter
// decides locally, revocations rest on the store) for
// ARAGORA_CB_OPEN_SECONDS, until a probe succeeds. It is "redis" in
// GET /api/system/circuit-breakers.
type redisBreaker struct{ c *breaker.Circuit }

var _ redis.Hook = redisBreaker{}

// newRedisBreaker returns the breaker of cfg's breaker policy; each state
// change is logged as circuit_breaker_state_change on log (aragora.breaker).
func newRedisBreaker(policy breaker.Config, log *slog.Logger) (redisBreaker, error) {
	c, err := breaker.New(breaker.Config{Name: "redis", MaxFailures: policy.MaxFailures, OpenFor: policy.OpenFor, Now: policy.Now,
		OnStateChange: func(name string, from, to breaker.State) {
			attrs := []any{"breaker", name, "from", from.String(), "to", to.String()}
			if to == breaker.StateOpen {
				log.Warn("circuit_breaker_state_change", attrs...)
			} else {
				log.Info("circuit_breaker_state_change", attrs...)
			}
		}})
	return redisBreaker{c: c}, err
}

// DialHook implements redis.Hook: dial errors reach the breaker through
// the command that needed the connection.
func (b redisBreaker) DialHook(next redis.DialHook) redis.DialHook { return next }

// inBreaker marks the context of a command the breaker already admitted.
// go-redis runs the handshake of a new connection (HELLO, CLIENT SETINFO)
// through the hooks with the context of the command that needed it: that
// nested call belongs to the admitted one. Counting it again would refuse
// it in the half-open state (one probe at a time, and the probe is its
// parent), so after a Redis restart, when every pooled connection is dead,
// no probe could ever dial and the circuit would stay half-open forever.
type inBreaker struct{}

func admitted(ctx context.Context) bool { return ctx.Value(inBreaker{}) != nil }

// ProcessHook implements redis.Hook.
func (b redisBreaker) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if admitted(ctx) {
			return next(ctx, cmd)
		}
		err := b.c.Do(ctx, func(ctx context.Context) error { return next(context.WithValue(ctx, inBreaker{}, true), cmd) })
		if errors.Is(err, breaker.ErrOpen) {
			cmd.SetErr(err)
		}
		return err
	}
}

// ProcessPipelineHook implements redis.Hook.
func (b redisBreaker) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if admitted(ctx) {
			return next(ctx, cmds)
		}
		err := b.c.Do(ctx, func(ctx context.Context) error { return next(context.WithValue(ctx, inBreaker{}, true), cmds) })
		if errors.Is(err, breaker.ErrOpen) {
			for _, cmd := range cmds {
				cmd.SetErr(err)
			}
		}
		return err
	}
}

// withRedisBreaker adds the Redis breaker, when there is one, to the
// system breakers of list.
func withRedisBreaker(list func() map[string]breaker.Snapshot, rb *redisBreaker) func() map[string]breaker.Snapshot {
	if rb == nil {
		return list
	}
	return func() map[string]breaker.Snapshot {
		out := map[string]breaker.Snapshot{}
		if list != nil {
			for k, v := range list() {
				out[k] = v
			}
		}
		out["redis"] = rb.c.Snapshot()
		return out
	}
}

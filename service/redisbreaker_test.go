package service

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/breaker"
	"github.com/aragora/aragora/internal/testenv"
)

// deadRedisAddr returns an address nothing listens on any more.
func deadRedisAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// TestRedisBreakerOpensOnUnreachableRedis checks the Redis client's
// breaker: connection errors open it after the failure threshold, then
// commands and pipelines fail at once with breaker.ErrOpen, the change is
// logged, and the system breakers list it as "redis", open, beside the
// other breakers.
func TestRedisBreakerOpensOnUnreachableRedis(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	rb, err := newRedisBreaker(breaker.Config{MaxFailures: 2, OpenFor: time.Hour}, slog.New(slog.NewTextHandler(&logs, nil)))
	require.NoError(t, err)
	rdb := redis.NewClient(&redis.Options{Addr: deadRedisAddr(t), MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = rdb.Close() })
	rdb.AddHook(rb)
	ctx := context.Background()

	for range 2 {
		err := rdb.Get(ctx, "k").Err()
		require.Error(t, err)
		assert.NotErrorIs(t, err, breaker.ErrOpen, "a real attempt")
	}
	assert.ErrorIs(t, rdb.Get(ctx, "k").Err(), breaker.ErrOpen)
	assert.ErrorIs(t, rdb.Ping(ctx).Err(), breaker.ErrOpen)
	cmds, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Incr(ctx, "a")
		p.Incr(ctx, "b")
		return nil
	})
	assert.ErrorIs(t, err, breaker.ErrOpen)
	for _, c := range cmds {
		assert.ErrorIs(t, c.Err(), breaker.ErrOpen)
	}
	assert.Contains(t, logs.String(), "level=WARN msg=circuit_breaker_state_change breaker=redis from=closed to=open")

	webhooks := func() map[string]breaker.Snapshot {
		return map[string]breaker.Snapshot{"webhook:wh_1": {State: breaker.StateClosed}}
	}
	list := withRedisBreaker(webhooks, &rb)()
	require.Contains(t, list, "redis")
	assert.Contains(t, list, "webhook:wh_1")
	cs := list["redis"]
	assert.Equal(t, breaker.StateOpen, cs.State)
	assert.Equal(t, 2, cs.ConsecutiveFailures)
	assert.Equal(t, 2, cs.FailureThreshold)
	require.NotNil(t, cs.LastFailure)
	assert.Equal(t, "server", string(cs.LastFailure.Kind))
	assert.NotNil(t, cs.NextProbeAt)

	assert.Len(t, withRedisBreaker(webhooks, nil)(), 1, "no Redis, no Redis breaker")
}

// TestRedisBreakerIgnoresMisses checks, against the Redis of
// ARAGORA_TEST_REDIS_URL, that answers — a missing key (redis.Nil)
// included — keep the breaker closed.
func TestRedisBreakerIgnoresMisses(t *testing.T) {
	redisURL := testenv.RedisURL(t, "the Redis breaker test against Redis")
	t.Parallel()
	rb, err := newRedisBreaker(breaker.Config{MaxFailures: 1, OpenFor: time.Hour}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	opts, err := redis.ParseURL(redisURL)
	require.NoError(t, err)
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	rdb.AddHook(rb)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	key := "aragora-test:redisbreaker:" + t.Name()
	for range 3 {
		assert.ErrorIs(t, rdb.Get(ctx, key).Err(), redis.Nil)
	}
	require.NoError(t, rdb.Set(ctx, key, "v", time.Minute).Err())
	t.Cleanup(func() { _ = rdb.Del(context.Background(), key).Err() })
	v, err := rdb.Get(ctx, key).Result()
	require.NoError(t, err)
	assert.Equal(t, "v", v)
	snap := rb.c.Snapshot()
	assert.Equal(t, breaker.StateClosed, snap.State)
	assert.Zero(t, snap.ConsecutiveFailures)
	assert.Nil(t, snap.LastFailure)
}

// TestRedisBreakerClosesOnceRedisIsBack opens the breaker against an
// address nothing listens on, then puts Redis (of ARAGORA_TEST_REDIS_URL,
// through a forwarder) on that address: the half-open probe dials a new
// connection, whose handshake go-redis runs through the same hook, and
// the circuit closes. (The handshake used to be refused as a second
// probe, so the circuit stayed half-open for good after a Redis restart.)
func TestRedisBreakerClosesOnceRedisIsBack(t *testing.T) {
	redisURL := os.Getenv("ARAGORA_TEST_REDIS_URL")
	if redisURL == "" {
		t.Skip("set ARAGORA_TEST_REDIS_URL=redis://127.0.0.1:6379/15 to run the Redis breaker test against Redis")
	}
	t.Parallel()
	opts, err := redis.ParseURL(redisURL)
	require.NoError(t, err)
	rb, err := newRedisBreaker(breaker.Config{MaxFailures: 1, OpenFor: 50 * time.Millisecond}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	addr := deadRedisAddr(t)
	rdb := redis.NewClient(&redis.Options{Addr: addr, DB: opts.DB, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = rdb.Close() })
	rdb.AddHook(rb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.Error(t, rdb.Ping(ctx).Err())
	require.Equal(t, breaker.StateOpen, rb.c.Snapshot().State)

	// Redis comes back on the address.
	l, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", opts.Addr)
			if err != nil {
				_ = c.Close()
				continue
			}
			wg.Add(2)
			go func() { defer wg.Done(); _, _ = io.Copy(up, c); _ = up.Close() }()
			go func() { defer wg.Done(); _, _ = io.Copy(c, up); _ = c.Close() }()
		}
	}()
	for rdb.Ping(ctx).Err() != nil {
		require.NoError(t, ctx.Err(), "the breaker never closed with Redis back")
		time.Sleep(20 * time.Millisecond)
	}
	assert.Equal(t, breaker.StateClosed, rb.c.Snapshot().State)
	require.NoError(t, rdb.Close())
}

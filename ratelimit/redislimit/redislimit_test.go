package redislimit_test

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aragora/aragora/internal/testclock"
	"github.com/aragora/aragora/internal/testenv"
	"github.com/aragora/aragora/ratelimit"
	"github.com/aragora/aragora/ratelimit/ratelimittest"
	"github.com/aragora/aragora/ratelimit/redislimit"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// redisOptions returns the test server's options, or skips the test.
func redisOptions(t testing.TB) *redis.Options {
	t.Helper()
	opts, err := redis.ParseURL(testenv.RedisURL(t, "the Redis rate-limit tests"))
	require.NoError(t, err)
	opts.ContextTimeoutEnabled = true
	return opts
}

// newClient connects to opts (possibly redirected) and closes it at cleanup.
func newClient(t testing.TB, opts *redis.Options) *redis.Client {
	t.Helper()
	return testenv.RedisClient(t, opts)
}

// freshPrefix returns a key prefix unique to this test and deletes its keys
// at cleanup.
func freshPrefix(t testing.TB, c *redis.Client) string {
	t.Helper()
	prefix := "aragora-test:" + testenv.Suffix() + ":"
	testenv.DeleteKeys(t, c, redislimit.KeyspacePrefix+prefix)
	return prefix
}

func newLimiter(t testing.TB) *redislimit.Limiter {
	t.Helper()
	c := newClient(t, redisOptions(t))
	return redislimit.NewFromClient(c, redislimit.Config{Prefix: freshPrefix(t, c)})
}

func TestConformance(t *testing.T) {
	redisOptions(t)
	ratelimittest.Run(t, func(t *testing.T) ratelimit.Keyed { return newLimiter(t) })
}

func TestFallbackConformance(t *testing.T) {
	redisOptions(t)
	ratelimittest.Run(t, func(t *testing.T) ratelimit.Keyed {
		return ratelimit.NewFallback(newLimiter(t), nil, ratelimit.FallbackConfig{Timeout: 5 * time.Second})
	})
}

func TestSharedBetweenReplicas(t *testing.T) {
	opts := redisOptions(t)
	a := newClient(t, opts)
	b := newClient(t, opts)
	prefix := freshPrefix(t, a)
	la := redislimit.NewFromClient(a, redislimit.Config{Prefix: prefix})
	lb := redislimit.NewFromClient(b, redislimit.Config{Prefix: prefix})
	l := ratelimit.Limit{Rate: 1, Burst: 2}
	ctx := context.Background()
	for i, lim := range []*redislimit.Limiter{la, lb, la, lb} {
		d, err := lim.Allow(ctx, "general:user:usr_1", l)
		require.NoError(t, err)
		assert.Equal(t, i < 2, d.Allowed, "call %d", i)
	}
	require.NoError(t, la.Reset(ctx, "general:user:usr_1"))
	d, err := lb.Allow(ctx, "general:user:usr_1", l)
	require.NoError(t, err)
	assert.True(t, d.Allowed)
}

func TestPeekRetryAfter(t *testing.T) {
	lim := newLimiter(t)
	ctx := context.Background()
	l := ratelimit.Limit{Rate: 1, Burst: 2}
	for range 2 {
		_, err := lim.Allow(ctx, "k", l)
		require.NoError(t, err)
	}
	d, err := lim.Peek(ctx, "k", l)
	require.NoError(t, err)
	assert.False(t, d.Allowed)
	assert.Equal(t, 0, d.Remaining)
	assert.GreaterOrEqual(t, d.RetryAfterSeconds(), 59)
	assert.LessOrEqual(t, d.RetryAfterSeconds(), 60)
	assert.GreaterOrEqual(t, d.ResetSeconds(), 119)
}

func TestErrorsAreWrapped(t *testing.T) {
	// No server needed: nothing listens on port 1.
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = c.Close() })
	_, err := redislimit.NewFromClient(c, redislimit.Config{}).Allow(context.Background(), "k", ratelimit.Limit{Rate: 1})
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), `redislimit: allow "k": `), err.Error())
	var opErr *net.OpError
	assert.ErrorAs(t, err, &opErr)
	_, err = redislimit.NewFromClient(c, redislimit.Config{}).Allow(context.Background(), "k", ratelimit.Limit{})
	require.ErrorIs(t, err, ratelimit.ErrInvalidLimit)
}

func TestRedisCutMidLoad(t *testing.T) {
	opts := redisOptions(t)
	direct := newClient(t, opts)
	prefix := freshPrefix(t, direct)
	proxy := testenv.NewProxy(t, opts.Addr)

	viaProxy := *opts
	viaProxy.Addr = proxy.Addr()
	viaProxy.MaxRetries = -1
	viaProxy.DialTimeout = 250 * time.Millisecond
	client := newClient(t, &viaProxy)

	clock := testclock.New(time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC))
	var local, failOpen atomic.Int64
	f := ratelimit.NewFallback(redislimit.NewFromClient(client, redislimit.Config{Prefix: prefix}), nil, ratelimit.FallbackConfig{
		Now: clock.Now,
		// The cut makes calls fail fast (connection refused/reset); a long
		// timeout keeps a slow, shared test machine from adding failures.
		Timeout: 5 * time.Second,
		OnFallback: func(mode string) {
			if mode == ratelimit.ModeLocal {
				local.Add(1)
			} else {
				failOpen.Add(1)
			}
		},
	})

	var decisions, errs atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			key := fmt.Sprintf("general:user:usr_%d", g)
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := f.Allow(context.Background(), key, ratelimit.Limit{Rate: 1 << 20}); err != nil {
					errs.Add(1)
				}
				decisions.Add(1)
			}
		})
	}
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()

	require.Eventually(t, func() bool { return f.Status().PrimaryDecisions >= 200 }, 20*time.Second, time.Millisecond,
		"decisions through Redis before the cut")
	proxy.Cut()
	require.Eventually(t, func() bool { return f.Status().Skipping }, 20*time.Second, time.Millisecond,
		"Redis skipped after 3 failures")
	atCut := local.Load()
	require.Eventually(t, func() bool { return local.Load() >= atCut+200 }, 20*time.Second, time.Millisecond,
		"the local limiter keeps deciding")
	st := f.Status()
	assert.False(t, st.Up)
	assert.True(t, st.FallbackActive)
	assert.Equal(t, int64(0), failOpen.Load())

	proxy.Restore(t)
	require.Eventually(t, func() bool {
		if st := f.Status(); st.Skipping {
			// Past SkipFor: the next call probes Redis. Repeated in case a
			// probe met a connection the cut had broken.
			clock.Advance(31 * time.Second)
		}
		return f.Status().Up
	}, 20*time.Second, time.Millisecond, "recovered")
	before := f.Status().PrimaryDecisions
	require.Eventually(t, func() bool { return f.Status().PrimaryDecisions >= before+200 }, 20*time.Second, time.Millisecond,
		"decisions through Redis again")
	close(stop)
	wg.Wait()

	assert.Equal(t, int64(0), errs.Load(), "callers never see an error")
	st = f.Status()
	assert.True(t, st.Up)
	assert.False(t, st.FallbackActive)
	assert.GreaterOrEqual(t, st.PrimaryFailures, uint64(3))
	t.Logf("last error %q, status %+v", st.LastError, st)
	t.Logf("decisions %d, local fallbacks %d, primary failures %d", decisions.Load(), local.Load(), st.PrimaryFailures)
}

func BenchmarkRedisAllow(b *testing.B) {
	lim := newLimiter(b)
	ctx := context.Background()
	l := ratelimit.Limit{Rate: 1 << 30}
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		if _, err := lim.Allow(ctx, "bench", l); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "decisions/s")
}

// BenchmarkRedisAllowParallel uses 50 concurrent callers, like
// redis-benchmark's default 50 clients.
func BenchmarkRedisAllowParallel(b *testing.B) {
	opts := redisOptions(b)
	opts.PoolSize = 50
	c := newClient(b, opts)
	lim := redislimit.NewFromClient(c, redislimit.Config{Prefix: freshPrefix(b, c)})
	ctx := context.Background()
	l := ratelimit.Limit{Rate: 1 << 30}
	b.SetParallelism(max(1, 50/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	start := time.Now()
	var seq atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		key := fmt.Sprintf("bench:%d", seq.Add(1))
		for pb.Next() {
			if _, err := lim.Allow(ctx, key, l); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "decisions/s")
}

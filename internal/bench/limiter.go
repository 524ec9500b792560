package bench

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aragora/aragora/ratelimit"
	"github.com/aragora/aragora/ratelimit/redislimit"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
)

// LimiterConfig sizes the limiter scenario. The zero value uses 1000 keys,
// 50 Redis clients for 3 s, and skips Redis when RedisURL is empty.
type LimiterConfig struct {
	Keys     int
	RedisURL string // e.g. redis://127.0.0.1:6379/15; "" skips Redis
	Clients  int    // concurrent Redis callers; default 50
	Duration time.Duration
}

func (c LimiterConfig) withDefaults() LimiterConfig {
	if c.Keys == 0 {
		c.Keys = 1000
	}
	if c.Clients == 0 {
		c.Clients = 50
	}
	if c.Duration == 0 {
		c.Duration = 3 * time.Second
	}
	return c
}

// big is a limit that always admits, so every call is a full decision.
var big = ratelimit.Limit{Rate: 1 << 30}

func keys(prefix string, n int) []string {
	ks := make([]string, n)
	for i := range ks {
		ks[i] = prefix + strconv.Itoa(i)
	}
	return ks
}

// rawKeyed is the baseline of a keyed limiter: a map of *rate.Limiter
// behind one mutex.
type rawKeyed struct {
	mu sync.Mutex
	m  map[string]*rate.Limiter
}

func (k *rawKeyed) allow(key string) bool {
	k.mu.Lock()
	l := k.m[key]
	if l == nil {
		l = rate.NewLimiter(rate.Limit(float64(big.Rate)/60), big.Rate)
		k.m[key] = l
	}
	k.mu.Unlock()
	return l.Allow()
}

func nsPerOp(r testing.BenchmarkResult) float64 { return float64(r.T.Nanoseconds()) / float64(r.N) }

// Limiter compares ratelimit.Memory with raw x/time/rate, and redislimit
// with a raw EVALSHA loop and redis-benchmark running the same script.
func Limiter(ctx context.Context, cfg LimiterConfig) (Table, error) {
	cfg = cfg.withDefaults()
	ks := keys("ip:10.0.0.", cfg.Keys)
	mem := ratelimit.NewMemory(ratelimit.MemoryConfig{})
	raw := rate.NewLimiter(rate.Limit(float64(big.Rate)/60), big.Rate)
	rk := &rawKeyed{m: map[string]*rate.Limiter{}}
	serial := func(f func(i int)) testing.BenchmarkResult {
		return testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				f(i)
				i++
			}
		})
	}
	parallel := func(f func(i int)) testing.BenchmarkResult {
		return testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					f(i)
					i++
				}
			})
		})
	}
	memAllow := func(i int) { _, _ = mem.Allow(ctx, ks[i%len(ks)], big) }
	rawAllow := func(int) { raw.Allow() }
	rkAllow := func(i int) { rk.allow(ks[i%len(ks)]) }
	var t Table
	for _, m := range []struct {
		name string
		run  func(func(int)) testing.BenchmarkResult
	}{{"serial", serial}, {"parallel (GOMAXPROCS)", parallel}} {
		rm, rr, rkr := m.run(memAllow), m.run(rawAllow), m.run(rkAllow)
		c := fmt.Sprintf("memory, %d keys, %s", cfg.Keys, m.name)
		t = append(t,
			Row{Scenario: "limiter", Case: c, Metric: "ns/decision", Value: nsPerOp(rm), Baseline: "raw rate.Limiter.Allow ns", BaselineValue: nsPerOp(rr)},
			Row{Scenario: "limiter", Case: c, Metric: "ns/decision", Value: nsPerOp(rm), Baseline: "map+mutex of rate.Limiter ns", BaselineValue: nsPerOp(rkr)},
			Row{Scenario: "limiter", Case: c, Metric: "allocs/decision", Value: float64(rm.AllocsPerOp()), Baseline: "map+mutex of rate.Limiter allocs", BaselineValue: float64(rkr.AllocsPerOp())},
		)
	}
	if cfg.RedisURL == "" {
		return t, nil
	}
	rows, err := limiterRedis(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return append(t, rows...), nil
}

// closedLoop runs f from clients goroutines for d and returns calls/s and
// latency percentiles.
func closedLoop(ctx context.Context, clients int, d time.Duration, f func(ctx context.Context, i int) error) (LoadResult, error) {
	lats := make([][]time.Duration, clients)
	errs := make([]error, clients)
	stop := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := c; time.Now().Before(stop); i += clients {
				t0 := time.Now()
				if err := f(ctx, i); err != nil {
					errs[c] = err
					return
				}
				lats[c] = append(lats[c], time.Since(t0))
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	var all []time.Duration
	for c := range clients {
		if errs[c] != nil {
			return LoadResult{}, errs[c]
		}
		all = append(all, lats[c]...)
	}
	return LoadResult{Requests: len(all), RPS: float64(len(all)) / wall.Seconds(), P50: percentile(all, 50), P99: percentile(all, 99)}, nil
}

func limiterRedis(ctx context.Context, cfg LimiterConfig) (Table, error) {
	opt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, err
	}
	opt.PoolSize = cfg.Clients
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	prefix := fmt.Sprintf("aragora-bench-%d-%d:", os.Getpid(), time.Now().UnixNano())
	defer cleanupRedis(context.WithoutCancel(ctx), rdb, "*"+prefix+"*")
	lim := redislimit.NewFromClient(rdb, redislimit.Config{Prefix: prefix + "rl:"})
	ks := keys("ip:10.0.0.", cfg.Keys)
	rl, err := closedLoop(ctx, cfg.Clients, cfg.Duration, func(ctx context.Context, i int) error {
		_, err := lim.Allow(ctx, ks[i%len(ks)], big)
		return err
	})
	if err != nil {
		return nil, err
	}
	sha, err := rdb.ScriptLoad(ctx, allowNScript).Result()
	if err != nil {
		return nil, err
	}
	rawKeys := keys(redislimit.KeyspacePrefix+prefix+"raw:ip:10.0.0.", cfg.Keys)
	rr, err := closedLoop(ctx, cfg.Clients, cfg.Duration, func(ctx context.Context, i int) error {
		return rdb.EvalSha(ctx, sha, []string{rawKeys[i%len(rawKeys)]}, big.Rate, big.Rate, 60, 1).Err()
	})
	if err != nil {
		return nil, err
	}
	c := fmt.Sprintf("redis GCRA script, %d clients, %d keys", cfg.Clients, cfg.Keys)
	t := Table{
		{Scenario: "limiter", Case: c, Metric: "redislimit decisions/s", Value: rl.RPS, Baseline: "raw go-redis EVALSHA/s", BaselineValue: rr.RPS},
		{Scenario: "limiter", Case: c, Metric: "redislimit p50 (ms)", Value: ms(rl.P50), Baseline: "raw go-redis EVALSHA p50 (ms)", BaselineValue: ms(rr.P50)},
		{Scenario: "limiter", Case: c, Metric: "redislimit p99 (ms)", Value: ms(rl.P99), Baseline: "raw go-redis EVALSHA p99 (ms)", BaselineValue: ms(rr.P99)},
	}
	rb, err := redisBenchmark(ctx, opt, sha, redislimit.KeyspacePrefix+prefix+"rb:", cfg)
	if err != nil {
		return nil, err
	}
	if rb.RPS > 0 {
		t = append(t,
			Row{Scenario: "limiter", Case: c, Metric: "redislimit decisions/s", Value: rl.RPS, Baseline: "redis-benchmark EVALSHA/s", BaselineValue: rb.RPS},
			Row{Scenario: "limiter", Case: c, Metric: "redislimit p50 (ms)", Value: ms(rl.P50), Baseline: "redis-benchmark p50 (ms)", BaselineValue: ms(rb.P50)},
			Row{Scenario: "limiter", Case: c, Metric: "redislimit p99 (ms)", Value: ms(rl.P99), Baseline: "redis-benchmark p99 (ms)", BaselineValue: ms(rb.P99)},
		)
	}
	return t, nil
}

// redisBenchmark runs redis-benchmark with the same script, clients and
// key space; it returns a zero result when redis-benchmark is missing.
func redisBenchmark(ctx context.Context, opt *redis.Options, sha, keyPrefix string, cfg LimiterConfig) (LoadResult, error) {
	bin, err := exec.LookPath("redis-benchmark")
	if err != nil {
		return LoadResult{}, nil
	}
	host, port, _ := splitHostPort(opt.Addr)
	n := 100000
	args := []string{"-h", host, "-p", port, "--dbnum", strconv.Itoa(opt.DB), "-c", strconv.Itoa(cfg.Clients), "-n", strconv.Itoa(n),
		"-r", strconv.Itoa(cfg.Keys), "--csv", "EVALSHA", sha, "1", keyPrefix + "__rand_int__",
		strconv.Itoa(big.Rate), strconv.Itoa(big.Rate), "60", "1"}
	if opt.Password != "" {
		args = append(args, "-a", opt.Password)
	}
	out, err := exec.CommandContext(ctx, bin, args...).Output()
	if err != nil {
		return LoadResult{}, fmt.Errorf("bench: redis-benchmark: %w", err)
	}
	recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil || len(recs) < 2 {
		return LoadResult{}, fmt.Errorf("bench: redis-benchmark output %q: %v", out, err)
	}
	// "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	f := func(name string) float64 {
		v, _ := strconv.ParseFloat(recs[1][col[name]], 64)
		return v
	}
	return LoadResult{Requests: n, RPS: f("rps"), P50: time.Duration(f("p50_latency_ms") * float64(time.Millisecond)),
		P99: time.Duration(f("p99_latency_ms") * float64(time.Millisecond))}, nil
}

func splitHostPort(addr string) (string, string, error) {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			return addr[:i], addr[i+1:], nil
		}
	}
	return addr, "6379", nil
}

// cleanupRedis deletes the keys matching pattern.
func cleanupRedis(ctx context.Context, rdb *redis.Client, pattern string) {
	iter := rdb.Scan(ctx, 0, pattern, 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 500 {
			rdb.Del(ctx, batch...)
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		rdb.Del(ctx, batch...)
	}
}

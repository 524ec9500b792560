package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aragora/aragora/internal/bench"
)

func extra(ctx context.Context, o options, s string) (bench.Table, error) {
	switch s {
	case "http":
		cfg := bench.HTTPConfig{Aragora: o.aragora}
		if o.quick {
			cfg.Workers, cfg.Duration, cfg.Warmup = 4, 300*time.Millisecond, 100*time.Millisecond
		}
		return bench.HTTP(ctx, cfg)
	case "fanout":
		ns, err := ints(o.fanout)
		if err != nil {
			return nil, err
		}
		cfg := bench.FanoutConfig{Aragora: o.aragora, Subscribers: ns, Verbose: o.verbose}
		if o.quick {
			cfg.Subscribers = []int{5}
		}
		return bench.Fanout(ctx, cfg)
	case "limiter":
		cfg := bench.LimiterConfig{RedisURL: o.redisURL}
		if o.quick {
			cfg.Duration, cfg.Clients = 200*time.Millisecond, 4
		}
		return bench.Limiter(ctx, cfg)
	case "store":
		cfg := bench.StoreConfig{PostgresURL: o.pgURL}
		if o.quick {
			cfg.Duration = 100 * time.Millisecond
		}
		return bench.Store(ctx, cfg)
	}
	return nil, fmt.Errorf("unknown scenario %q", s)
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("bad count %q: %w", f, err)
		}
		out = append(out, n)
	}
	return out, nil
}

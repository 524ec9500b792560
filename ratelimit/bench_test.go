package ratelimit_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aragora/aragora/ratelimit"
	"golang.org/x/time/rate"
)

// A huge rate keeps every decision an admission, so both benchmarks do the
// same work.
var benchLimit = ratelimit.Limit{Rate: 1 << 30}

func BenchmarkRawRateLimiterAllow(b *testing.B) {
	l := rate.NewLimiter(rate.Limit(float64(benchLimit.Rate)/60), benchLimit.Rate)
	b.ReportAllocs()
	for b.Loop() {
		l.Allow()
	}
}

func BenchmarkMemoryAllow(b *testing.B) {
	m := ratelimit.NewMemory(ratelimit.MemoryConfig{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = m.Allow(ctx, "general:user:usr_1", benchLimit)
	}
}

func BenchmarkMemoryAllowManyKeysParallel(b *testing.B) {
	m := ratelimit.NewMemory(ratelimit.MemoryConfig{})
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = "general:ip:10.0." + strconv.Itoa(i/256) + "." + strconv.Itoa(i%256)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			_, _ = m.Allow(ctx, keys[i%len(keys)], benchLimit)
			i++
		}
	})
}

func BenchmarkFallbackOverMemory(b *testing.B) {
	f := ratelimit.NewFallback(ratelimit.NewMemory(ratelimit.MemoryConfig{}), nil, ratelimit.FallbackConfig{Timeout: time.Second})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = f.Allow(ctx, "general:user:usr_1", benchLimit)
	}
}

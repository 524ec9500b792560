package redislimit_test

import (
	"context"
	"fmt"
	"time"

	"github.com/aragora/aragora/ratelimit"
	"github.com/aragora/aragora/ratelimit/redislimit"
	"github.com/redis/go-redis/v9"
)

// With Redis unreachable (nothing listens on port 1), the Fallback lets the
// local limiter decide and callers see no error. This runs offline.
func ExampleNewFromClient() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 50 * time.Millisecond,
		ContextTimeoutEnabled: true})
	defer rdb.Close()
	shared := redislimit.NewFromClient(rdb, redislimit.Config{Prefix: "aragora:ratelimit:"})
	limiter := ratelimit.NewFallback(shared, ratelimit.NewMemory(ratelimit.MemoryConfig{}), ratelimit.FallbackConfig{
		OnFallback: func(mode string) { fmt.Println("fallback:", mode) },
	})
	d, err := limiter.Allow(context.Background(), "debate_create:ip:203.0.113.7", ratelimit.Limit{Rate: 10})
	fmt.Println(d.Allowed, d.Remaining, err)
	st := limiter.Status()
	fmt.Println("up:", st.Up, "fallback_active:", st.FallbackActive)
	// Output:
	// fallback: local
	// true 9 <nil>
	// up: false fallback_active: true
}

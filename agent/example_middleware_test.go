package agent_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aragora/aragora/agent"
)

// A provider that is overloaded once and then answers, behind the
// recommended chain. The fake Sleep keeps the example instant.
func ExampleRetry() {
	calls := 0
	provider := agent.Func(func(context.Context, agent.Request) (agent.Response, error) {
		calls++
		if calls == 1 {
			return agent.Response{}, &agent.ProviderError{Provider: "anthropic", StatusCode: 529, Overloaded: true, Err: errors.New("overloaded")}
		}
		return agent.Response{Text: "Hello.", Provider: "anthropic"}, nil
	})
	a := agent.Chain(provider,
		agent.Timeout(time.Minute),
		agent.Retry(agent.RetryConfig{
			Rand: func() float64 { return 0.5 },
			Sleep: func(_ context.Context, d time.Duration) error {
				fmt.Println("waiting", d)
				return nil
			},
		}),
	)
	resp, err := a.Respond(context.Background(), agent.Request{Prompt: "Say hello"})
	fmt.Println(resp.Text, resp.Attempts, err)
	// Output:
	// waiting 1s
	// Hello. 2 <nil>
}

// A provider out of quota is rescued by an OpenRouter agent; the stats
// record the primary's error and the exhausted quota.
func ExampleFallbackMiddleware() {
	primary := agent.Func(func(context.Context, agent.Request) (agent.Response, error) {
		return agent.Response{}, &agent.ProviderError{Provider: "openai", StatusCode: 429,
			Err: fmt.Errorf("%w: insufficient_quota", agent.ErrQuotaExhausted)}
	})
	openrouter := agent.Func(func(context.Context, agent.Request) (agent.Response, error) {
		return agent.Response{Text: "Hello from the fallback.", Provider: "openrouter", Model: "openai/gpt-4o"}, nil
	})
	stats := agent.NewStats(agent.StatsConfig{})
	a := agent.Chain(primary,
		agent.StatsMiddleware(stats, "gpt-4"),
		agent.FallbackMiddleware(agent.FallbackConfig{Agent: openrouter, FromModel: "gpt-4o"}),
		agent.Retry(agent.RetryConfig{}),
	)
	resp, err := a.Respond(context.Background(), agent.Request{Prompt: "Say hello"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fb := resp.Fallback
	fmt.Println(resp.Text)
	fmt.Printf("%s/%s -> %s/%s: %s\n", fb.FromProvider, fb.FromModel, fb.ToProvider, fb.ToModel, fb.Reason)
	snap := stats.Snapshot("gpt-4")
	fmt.Println(snap.RequestsTotal, snap.Errors[agent.KindQuotaExhausted], snap.QuotaRemaining.Value, snap.QuotaExhausted())
	// Output:
	// Hello from the fallback.
	// openai/gpt-4o -> openrouter/openai/gpt-4o: quota_exhausted
	// 1 1 0 true
}

package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/breaker"
)

func Example() {
	reg, err := breaker.NewRegistry(breaker.Config{MaxFailures: 2, OpenFor: time.Minute})
	if err != nil {
		panic(err)
	}
	reg.OnStateChange(func(name string, from, to breaker.State) {
		fmt.Printf("circuit_breaker_state_change agent=%s from=%s to=%s\n", name, from, to)
	})

	// A provider that keeps answering 503.
	provider := agent.Func(func(context.Context, agent.Request) (agent.Response, error) {
		return agent.Response{}, &agent.ProviderError{Provider: "anthropic", StatusCode: 503, Err: errors.New("overloaded")}
	})
	claude := agent.Chain(provider, breaker.Middleware(reg, "claude"))

	for range 3 {
		_, err := claude.Respond(context.Background(), agent.Request{Prompt: "hello"})
		fmt.Println(agent.KindOf(err))
	}
	s := reg.Snapshot()["claude"]
	fmt.Println(s.State, s.ConsecutiveFailures, s.FailureThreshold)

	fmt.Println("previous:", reg.Reset("claude"), "now:", reg.Get("claude").State())
	// Output:
	// server
	// circuit_breaker_state_change agent=claude from=closed to=open
	// server
	// circuit_open
	// open 2 2
	// circuit_breaker_state_change agent=claude from=open to=closed
	// previous: open now: closed
}

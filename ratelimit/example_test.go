package ratelimit_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/ratelimit"
)

func ExampleMemory() {
	now := time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC)
	m := ratelimit.NewMemory(ratelimit.MemoryConfig{Now: func() time.Time { return now }})
	l := ratelimit.Limit{Rate: 2} // 2 per minute, burst 2
	for range 3 {
		d, err := m.Allow(context.Background(), "ip:203.0.113.7", l)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(d.Allowed, d.Remaining, d.ResetSeconds(), d.RetryAfterSeconds())
	}
	// Output:
	// true 1 30 1
	// true 0 60 1
	// false 0 60 30
}

func ExamplePolicy_Handler() {
	cfg, err := ratelimit.ParseConfig(func(name string) string {
		return map[string]string{"ARAGORA_RATE_LIMIT_DEBATE_RPM": "1"}[name]
	})
	if err != nil {
		log.Fatal(err)
	}
	p, err := ratelimit.NewPolicy(nil, cfg)
	if err != nil {
		log.Fatal(err)
	}
	h := p.Handler(ratelimit.ClassDebateCreate, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	}))
	for range 2 {
		r := httptest.NewRequest("POST", "/api/debates", nil)
		r.RemoteAddr = "203.0.113.7:5000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Printf("%d remaining=%s retry_after=%q\n", w.Code, w.Header().Get("X-RateLimit-Remaining"), w.Header().Get("Retry-After"))
	}
	// Output:
	// 202 remaining=0 retry_after=""
	// 429 remaining=0 retry_after="60"
}

func ExamplePerKey() {
	m := ratelimit.NewMemory(ratelimit.MemoryConfig{})
	perProvider := ratelimit.PerKey(m, ratelimit.Limit{Rate: 50}, func(agent.Request) string { return "provider:anthropic" })
	a := agent.Chain(agent.Func(func(context.Context, agent.Request) (agent.Response, error) {
		return agent.Response{Text: "hello"}, nil
	}), perProvider)
	resp, err := a.Respond(context.Background(), agent.Request{})
	fmt.Println(resp.Text, err)
	// Output: hello <nil>
}

package anthropic_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/anthropic"
)

// A local fake stands in for api.anthropic.com, as ANTHROPIC_BASE_URL would.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"pong"}],`+
			`"stop_reason":"end_turn","usage":{"input_tokens":12,"output_tokens":2}}`)
	}))
	defer srv.Close()

	a, err := anthropic.New(anthropic.Config{APIKey: "sk-ant-test", BaseURL: srv.URL, HTTPClient: srv.Client()})
	if err != nil {
		log.Fatal(err)
	}
	resp, err := a.Respond(context.Background(), agent.Request{Prompt: "Reply with the single word: pong", MaxTokens: 64})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %s %d+%d tokens $%.6f\n", resp.Model, resp.Text, resp.Usage.InputTokens, resp.Usage.OutputTokens, resp.CostUSD)
	// Output: claude-sonnet-4-5 pong 12+2 tokens $0.000066
}

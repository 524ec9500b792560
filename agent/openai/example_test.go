package openai_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/openai"
)

// A local fake stands in for api.openai.com, as OPENAI_BASE_URL would.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"pong"},"finish_reason":"stop"}],`+
			`"usage":{"prompt_tokens":12,"completion_tokens":2}}`)
	}))
	defer srv.Close()

	a, err := openai.New(openai.Config{APIKey: "sk-test", BaseURL: srv.URL + "/v1", HTTPClient: srv.Client()})
	if err != nil {
		log.Fatal(err)
	}
	resp, err := a.Respond(context.Background(), agent.Request{Prompt: "Reply with the single word: pong"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %s %d+%d tokens $%.6f\n", resp.Provider, resp.Text, resp.Usage.InputTokens, resp.Usage.OutputTokens, resp.CostUSD)
	// Output: openai pong 12+2 tokens $0.000050
}

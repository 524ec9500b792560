package gemini_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/gemini"
)

// A local fake stands in for generativelanguage.googleapis.com, as
// GEMINI_BASE_URL would; the reply is streamed.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, `data: {"candidates":[{"content":{"role":"model","parts":[{"text":"po"}]}}]}`+"\r\n\r\n"+
			`data: {"candidates":[{"content":{"role":"model","parts":[{"text":"ng"}]},"finishReason":"STOP"}],`+
			`"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":2},"modelVersion":"gemini-2.5-pro"}`+"\r\n\r\n")
	}))
	defer srv.Close()

	a, err := gemini.New(gemini.Config{APIKey: "test-key", BaseURL: srv.URL, HTTPClient: srv.Client()})
	if err != nil {
		log.Fatal(err)
	}
	resp, err := a.RespondStream(context.Background(), agent.Request{Prompt: "Reply with the single word: pong"},
		func(chunk string) { fmt.Printf("chunk %q\n", chunk) })
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %d+%d tokens $%.7f\n", resp.Text, resp.Usage.InputTokens, resp.Usage.OutputTokens, resp.CostUSD)
	// Output:
	// chunk "po"
	// chunk "ng"
	// pong 12+2 tokens $0.0000350
}

package diag_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/diag"
)

func ExampleTestAgent() {
	pong := agent.Func(func(context.Context, agent.Request) (agent.Response, error) {
		return agent.Response{Text: "pong", Usage: agent.Usage{InputTokens: 12, OutputTokens: 2}, CostUSD: 0.000066}, nil
	})
	res := diag.TestAgent(context.Background(), pong, "", 0, 0)
	fmt.Println(res.OK, res.Response, res.Tokens.Input, res.Tokens.Output, res.Error == nil)
	// Output: true pong 12 2 true
}

func ExampleChecker_Check() {
	srv := httptest.NewServer(http.NotFoundHandler()) // stands in for OLLAMA_HOST
	defer srv.Close()
	c := diag.NewChecker(diag.Config{Proxy: func(*http.Request) (*url.URL, error) { return nil, nil }})
	rep := c.Check(context.Background(), []diag.Target{{Provider: "ollama", URL: srv.URL}})
	r := rep.Results[0]
	fmt.Println(rep.OK, r.DNS.OK, r.TCP.OK, *r.HTTP.StatusCode, r.HTTP.TLSVersion == nil)

	// A closed port: the HTTP step is skipped (null).
	srv.Close()
	rep = c.Check(context.Background(), []diag.Target{{Provider: "ollama", URL: srv.URL}})
	enc := json.NewEncoder(os.Stdout)
	_ = enc.Encode(map[string]any{"ok": rep.OK, "tcp_ok": rep.Results[0].TCP.OK, "http": rep.Results[0].HTTP})
	// Output:
	// true true true 404 true
	// {"http":null,"ok":false,"tcp_ok":false}
}

// Package provider is the template for a third-party agent provider: an
// adapter for "Acme", a small in-house completion API, plugged into the
// agent registry so that its agents run in the library, the debate command
// and embedded services exactly like the built-in ones, with the same
// middleware, /api/agents/status entry, agent test and connectivity
// check (docs/agents.md#writing-a-provider).
//
// Copy this directory, rename the package, and change the three things that
// are specific to your API: the request and reply shapes (request, reply,
// apiError), the path (completePath) and how the API reports errors
// (providerError). Keep the rest: it is what the registry and
// agenttest.Conformance expect of every adapter.
//
// The Acme API has one endpoint:
//
//	POST {base}/v1/complete
//	Authorization: Bearer <ACME_API_KEY>
//	{"model":"acme-1","system":"…","prompt":"…","max_tokens":1024,"temperature":0.7}
//
//	200 {"output":"…","usage":{"input_tokens":17,"output_tokens":29}}
//	4xx/5xx {"error":{"code":"quota_exceeded","message":"…"}}
//
// Use it in a program:
//
//	registry.Register(provider.Provider()) // every registry of the program now serves acme and acme:<model>
package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/pricing"
	"github.com/aragora/aragora/agent/registry"
)

// Name is the provider name: the agent "acme" and the specs
// "acme:<model>".
const Name = "acme"

// DefaultModel is the model of the agent "acme".
const DefaultModel = "acme-1"

// DefaultBaseURL is Acme's public endpoint, and the target of the
// connectivity check.
const DefaultBaseURL = "https://api.acme.example"

// completePath is the API's only endpoint, relative to the base URL.
const completePath = "/v1/complete"

// maxReply bounds the reply body the adapter reads.
const maxReply = 4 << 20

// Provider describes Acme to the agent registry: the variable holding its
// key, the one overriding its endpoint, and how to build an agent from a
// spec. Pass it to registry.Register (process-wide: the CLI, the service)
// or to registry.Config.Providers (one registry).
func Provider() registry.Provider {
	return registry.Provider{
		Name:         Name,
		DefaultModel: DefaultModel,
		KeyVar:       "ACME_API_KEY",  // unset: acme agents are refused with "set ACME_API_KEY"
		BaseURLVar:   "ACME_BASE_URL", // a gateway, a proxy, or a fake in tests
		BaseURL:      DefaultBaseURL,
		New: func(s registry.Spec) (agent.Agent, error) {
			// The registry hands over everything the adapter needs; it wraps
			// the result in stats, timeout, retry and breaker middleware,
			// so the adapter itself never retries or times out.
			return New(Config{APIKey: s.Key, Model: s.Model, BaseURL: s.BaseURL, HTTPClient: s.HTTPClient,
				Pricing: s.Pricing, OnQuota: s.OnQuota})
		},
	}
}

// Config configures an [Agent].
type Config struct {
	// APIKey is sent as a bearer token. Required.
	APIKey string
	// Model defaults to DefaultModel.
	Model string
	// BaseURL defaults to DefaultBaseURL; no trailing slash needed.
	BaseURL string
	// HTTPClient defaults to http.DefaultClient. The registry passes its
	// shared client (proxy settings honoured).
	HTTPClient *http.Client
	// Pricing, when set, prices each reply (Response.CostUSD).
	Pricing pricing.Table
	// OnQuota, when set, receives the API's rate-limit headers so that
	// GET /api/agents/status shows the remaining quota.
	OnQuota func(remaining int, resetAt time.Time)
}

// Agent calls the Acme API. It is safe for concurrent use, as agent.Agent
// requires: it holds no per-call state.
type Agent struct {
	cfg Config
}

var (
	_ agent.Agent     = (*Agent)(nil)
	_ agent.Describer = (*Agent)(nil) // names provider and model for receipts and status
)

// New returns an Agent for cfg.
func New(cfg Config) (*Agent, error) {
	if cfg.APIKey == "" {
		return nil, errors.New("acme: APIKey is required")
	}
	if cfg.Model == "" {
		cfg.Model = DefaultModel
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	return &Agent{cfg: cfg}, nil
}

// Describe implements agent.Describer.
func (a *Agent) Describe() agent.Info { return agent.Info{Provider: Name, Model: a.cfg.Model} }

// request, reply and apiError are Acme's wire shapes.
type request struct {
	Model       string   `json:"model"`
	System      string   `json:"system,omitempty"`
	Prompt      string   `json:"prompt"`
	MaxTokens   int      `json:"max_tokens,omitempty"`
	Temperature *float64 `json:"temperature,omitempty"`
}

type reply struct {
	Output *string `json:"output"`
	Usage  struct {
		InputTokens  int `json:"input_tokens"`
		OutputTokens int `json:"output_tokens"`
	} `json:"usage"`
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Respond sends one prompt and returns the reply. Errors follow the
// contract of docs/agents.md#errors: a non-2xx answer is an
// *agent.ProviderError (its kind derived from the status), a transport
// failure is returned as is (agent.KindOf classifies it), an unusable
// reply wraps agent.ErrInvalidResponse, and the context's error is kept
// in the chain so that timeouts and cancellations are recognised.
func (a *Agent) Respond(ctx context.Context, req agent.Request) (agent.Response, error) {
	body := request{Model: a.cfg.Model, System: req.System, Prompt: req.Prompt, MaxTokens: req.MaxTokens}
	if req.Temperature != 0 {
		t := req.Temperature
		body.Temperature = &t
	}
	data, err := json.Marshal(body)
	if err != nil {
		return agent.Response{}, fmt.Errorf("acme: encode request: %w", err)
	}
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.BaseURL+completePath, bytes.NewReader(data))
	if err != nil {
		return agent.Response{}, fmt.Errorf("acme: %w", err)
	}
	httpReq.Header.Set("Authorization", "Bearer "+a.cfg.APIKey)
	httpReq.Header.Set("Content-Type", "application/json")
	httpReq.Header.Set("Accept", "application/json")

	resp, err := a.cfg.HTTPClient.Do(httpReq)
	if err != nil {
		// Connection refused, DNS, TLS, ctx done: KindOf sees the net or
		// context error through *url.Error.
		return agent.Response{}, fmt.Errorf("acme: %w", err)
	}
	defer resp.Body.Close()
	a.reportQuota(resp.Header)
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		// A connection dropped mid-body (io.ErrUnexpectedEOF): a server
		// error, retried by the middleware.
		return agent.Response{}, fmt.Errorf("acme: read reply: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return agent.Response{}, providerError(resp, raw)
	}
	var r reply
	if err := json.Unmarshal(raw, &r); err != nil {
		return agent.Response{}, fmt.Errorf("acme: decode reply: %w: %w", agent.ErrInvalidResponse, err)
	}
	if r.Output == nil || strings.TrimSpace(*r.Output) == "" {
		return agent.Response{}, fmt.Errorf("acme: %w: the reply has no output", agent.ErrInvalidResponse)
	}
	usage := agent.Usage{InputTokens: r.Usage.InputTokens, OutputTokens: r.Usage.OutputTokens}
	out := agent.Response{Text: *r.Output, Usage: usage, Provider: Name, Model: a.cfg.Model}
	if a.cfg.Pricing != nil {
		out.CostUSD, _ = a.cfg.Pricing.Cost(a.cfg.Model, usage)
	}
	return out, nil
}

// providerError maps a non-2xx answer to an *agent.ProviderError. The
// sentinel in Err decides the kind where the status alone does not:
// a 429 is quota exhaustion (never retried, falls back to OpenRouter) when
// the API says so, else a rate limit (retried after Retry-After).
func providerError(resp *http.Response, raw []byte) error {
	var e apiError
	msg := strings.TrimSpace(string(raw))
	if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
		msg = e.Error.Message
	}
	if len(msg) > 500 {
		msg = msg[:500]
	}
	err := errors.New(msg)
	switch s := resp.StatusCode; {
	case s == http.StatusPaymentRequired || e.Error.Code == "quota_exceeded":
		err = fmt.Errorf("%w: %s", agent.ErrQuotaExhausted, msg)
	case s == http.StatusTooManyRequests:
		err = fmt.Errorf("%w: %s", agent.ErrRateLimited, msg)
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		err = fmt.Errorf("%w: %s", agent.ErrAuth, msg)
	}
	return &agent.ProviderError{Provider: Name, StatusCode: resp.StatusCode, RetryAfter: retryAfter(resp.Header), Err: err}
}

// retryAfter parses a Retry-After header in seconds; 0 when absent.
func retryAfter(h http.Header) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After")))
	if err != nil || n < 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}

// reportQuota passes Acme's X-RateLimit-Remaining and X-RateLimit-Reset
// (Unix seconds) headers to OnQuota.
func (a *Agent) reportQuota(h http.Header) {
	if a.cfg.OnQuota == nil {
		return
	}
	n, err := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	if err != nil {
		return
	}
	var reset time.Time
	if s, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
		reset = time.Unix(s, 0)
	}
	a.cfg.OnQuota(n, reset)
}

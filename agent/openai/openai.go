package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/internal/wire"
	"github.com/aragora/aragora/agent/pricing"
)

// Providers served by this package, the values of [Config.Provider].
const (
	ProviderOpenAI     = "openai"
	ProviderOpenRouter = "openrouter"
	ProviderMistral    = "mistral"
	ProviderXAI        = "xai"
	ProviderDeepSeek   = "deepseek"
	ProviderOllama     = "ollama"
	ProviderVLLM       = "vllm"
)

// DefaultMaxTokens is the reply limit sent when neither the request nor
// [Config.MaxTokens] sets one.
const DefaultMaxTokens = 2048

// DefaultBaseURL returns the public endpoint of provider, including its API
// version path ("https://api.openai.com/v1"), or "" for a provider without
// one (vllm) or an unknown provider. It is the value *_BASE_URL overrides.
func DefaultBaseURL(provider string) string {
	switch provider {
	case ProviderOpenAI:
		return "https://api.openai.com/v1"
	case ProviderOpenRouter:
		return "https://openrouter.ai/api/v1"
	case ProviderMistral:
		return "https://api.mistral.ai/v1"
	case ProviderXAI:
		return "https://api.x.ai/v1"
	case ProviderDeepSeek:
		return "https://api.deepseek.com/v1"
	case ProviderOllama:
		return "http://localhost:11434/v1"
	}
	return ""
}

// DefaultModel returns the model used for provider when [Config.Model] is
// empty (API.md §5), or "" when the model must be given (openrouter, vllm).
func DefaultModel(provider string) string {
	switch provider {
	case ProviderOpenAI:
		return "gpt-4o"
	case ProviderMistral:
		return "mistral-large-latest"
	case ProviderXAI:
		return "grok-4"
	case ProviderDeepSeek:
		return "deepseek-chat"
	case ProviderOllama:
		return "llama3.1"
	}
	return ""
}

// keyRequired reports whether provider refuses calls without an API key.
func keyRequired(provider string) bool {
	return provider != ProviderOllama && provider != ProviderVLLM
}

// Config configures an [Agent]. The zero value is not usable: the OpenAI
// provider needs APIKey.
type Config struct {
	// Provider names the service: openai (default), openrouter, mistral,
	// xai, deepseek, ollama or vllm. It picks the default base URL and
	// model and is reported in Response.Provider and errors.
	Provider string
	// APIKey is sent as "Authorization: Bearer <key>". Required except for
	// ollama and vllm.
	APIKey string
	// Model defaults to [DefaultModel] of Provider; required for openrouter
	// and vllm.
	Model string
	// BaseURL defaults to [DefaultBaseURL] of Provider; required for vllm.
	// Requests go to BaseURL + "/chat/completions".
	BaseURL string
	// HTTPClient defaults to a client using http.DefaultTransport, which
	// honours HTTPS_PROXY, HTTP_PROXY and NO_PROXY. Calls are bounded by
	// their context, so the client needs no Timeout.
	HTTPClient *http.Client
	// MaxTokens is the reply limit when a request sets none; default
	// [DefaultMaxTokens].
	MaxTokens int
	// Pricing prices the calls (Response.CostUSD); nil means
	// pricing.Default(). An empty non-nil table disables costs.
	Pricing pricing.Table
	// OnQuota, when set, is called with the remaining-requests count and
	// reset time (zero if not given) from the provider's rate-limit headers
	// after every reply that carries them. It must be fast and safe for
	// concurrent use.
	OnQuota func(remaining int, reset time.Time)
	// Now defaults to time.Now; it dates Retry-After and rate-limit resets.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Provider == "" {
		c.Provider = ProviderOpenAI
	}
	if c.Model == "" {
		c.Model = DefaultModel(c.Provider)
	}
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL(c.Provider)
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	if c.MaxTokens == 0 {
		c.MaxTokens = DefaultMaxTokens
	}
	if c.Pricing == nil {
		c.Pricing = pricing.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports a missing key, model or base URL, an unknown provider or
// a base URL that is not an absolute http(s) URL.
func (c Config) Validate() error {
	switch c.Provider {
	case ProviderOpenAI, ProviderOpenRouter, ProviderMistral, ProviderXAI, ProviderDeepSeek, ProviderOllama, ProviderVLLM:
	default:
		return fmt.Errorf("openai: unknown provider %q", c.Provider)
	}
	if c.APIKey == "" && keyRequired(c.Provider) {
		return fmt.Errorf("openai: %s: API key required", c.Provider)
	}
	if c.Model == "" {
		return fmt.Errorf("openai: %s: model required", c.Provider)
	}
	if c.BaseURL == "" {
		return fmt.Errorf("openai: %s: base URL required", c.Provider)
	}
	if !wire.ValidBaseURL(c.BaseURL) {
		return fmt.Errorf("openai: %s: base URL %q: want an absolute http or https URL", c.Provider, c.BaseURL)
	}
	if c.MaxTokens < 0 {
		return fmt.Errorf("openai: max tokens %d: want >= 0", c.MaxTokens)
	}
	return nil
}

// Agent calls an OpenAI-compatible Chat Completions endpoint. It implements
// agent.Agent and agent.Streamer, is safe for concurrent use, and never
// retries (retries belong to agent middleware). Build it with [New]; the
// zero value is not usable.
type Agent struct {
	cfg Config
}

var _ agent.Streamer = (*Agent)(nil)

// New returns an Agent for cfg, or an error when cfg is invalid.
func New(cfg Config) (*Agent, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Agent{cfg: cfg}, nil
}

// Provider returns the provider name, e.g. "openrouter".
func (a *Agent) Provider() string { return a.cfg.Provider }

// Model returns the configured model.
func (a *Agent) Model() string { return a.cfg.Model }

// BaseURL returns the base URL requests go to.
func (a *Agent) BaseURL() string { return a.cfg.BaseURL }

// Respond sends req as one chat completion and returns the reply.
func (a *Agent) Respond(ctx context.Context, req agent.Request) (agent.Response, error) {
	return a.do(ctx, req, nil)
}

// RespondStream streams the reply, calling onChunk (when not nil) with each
// text delta in order. A stream that breaks or ends before "data: [DONE]"
// (or a finish_reason) fails with a *agent.ProviderError of kind server and
// no Response text, never a truncated success.
func (a *Agent) RespondStream(ctx context.Context, req agent.Request, onChunk func(chunk string)) (agent.Response, error) {
	if onChunk == nil {
		onChunk = func(string) {}
	}
	return a.do(ctx, req, onChunk)
}

type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type chatRequest struct {
	Model               string         `json:"model"`
	Messages            []message      `json:"messages"`
	MaxTokens           int            `json:"max_tokens,omitempty"`
	MaxCompletionTokens int            `json:"max_completion_tokens,omitempty"`
	Temperature         *float64       `json:"temperature,omitempty"`
	Stream              bool           `json:"stream,omitempty"`
	StreamOptions       *streamOptions `json:"stream_options,omitempty"`
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

type chatResponse struct {
	Model   string `json:"model"`
	Choices []struct {
		Message struct {
			Content json.RawMessage `json:"content"`
		} `json:"message"`
		Delta struct {
			Content json.RawMessage `json:"content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *usage          `json:"usage"`
	Error json.RawMessage `json:"error"`
}

// body builds the request body. OpenAI itself gets max_completion_tokens
// (required by its reasoning models); every other server gets max_tokens.
// Temperature 0 means the provider's default. Streams ask for usage with
// stream_options.include_usage, except on Mistral, which reports usage
// unasked.
func (a *Agent) body(req agent.Request, stream bool) ([]byte, error) {
	cr := chatRequest{Model: a.cfg.Model, Stream: stream}
	if req.System != "" {
		cr.Messages = append(cr.Messages, message{Role: "system", Content: req.System})
	}
	cr.Messages = append(cr.Messages, message{Role: "user", Content: req.Prompt})
	maxTokens := req.MaxTokens
	if maxTokens <= 0 {
		maxTokens = a.cfg.MaxTokens
	}
	if a.cfg.Provider == ProviderOpenAI {
		cr.MaxCompletionTokens = maxTokens
	} else {
		cr.MaxTokens = maxTokens
	}
	if req.Temperature > 0 {
		t := req.Temperature
		cr.Temperature = &t
	}
	if stream && a.cfg.Provider != ProviderMistral {
		cr.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	return json.Marshal(cr)
}

func (a *Agent) do(ctx context.Context, req agent.Request, onChunk func(string)) (agent.Response, error) {
	p := a.cfg.Provider
	body, err := a.body(req, onChunk != nil)
	if err != nil {
		return agent.Response{}, fmt.Errorf("openai: encode request: %w", err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.BaseURL+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		return agent.Response{}, fmt.Errorf("openai: build request: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	if onChunk != nil {
		hreq.Header.Set("Accept", "text/event-stream")
	} else {
		hreq.Header.Set("Accept", "application/json")
	}
	if a.cfg.APIKey != "" {
		hreq.Header.Set("Authorization", "Bearer "+a.cfg.APIKey)
	}
	if p == ProviderOpenRouter {
		hreq.Header.Set("X-Title", "Aragora")
	}
	resp, err := a.cfg.HTTPClient.Do(hreq)
	if err != nil {
		return agent.Response{}, wire.ConnError(ctx, p, err)
	}
	defer resp.Body.Close()
	now := a.cfg.Now()
	if a.cfg.OnQuota != nil {
		if n, reset, ok := wire.QuotaHeaders(resp.Header, now); ok {
			a.cfg.OnQuota(n, reset)
		}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		data, err := wire.ReadAll(resp.Body, wire.MaxErrorBody)
		if err != nil && !errors.Is(err, wire.ErrTooLarge) && ctx.Err() != nil {
			return agent.Response{}, wire.ConnError(ctx, p, err)
		}
		return agent.Response{}, wire.StatusError(p, resp.StatusCode, resp.Header, wire.ParseErrorBody(data), now)
	}
	out := agent.Response{Provider: p, Model: a.cfg.Model, Attempts: 1}
	var u usage
	if onChunk == nil {
		err = a.decodeReply(ctx, resp, &out, &u)
	} else {
		err = a.decodeStream(ctx, resp, onChunk, &out, &u)
	}
	if err != nil {
		return agent.Response{}, err
	}
	out.Usage = agent.Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens}
	out.CostUSD = a.cost(out.Model, out.Usage)
	return out, nil
}

func (a *Agent) cost(replyModel string, u agent.Usage) float64 {
	if c, ok := a.cfg.Pricing.Cost(a.cfg.Model, u); ok {
		return c
	}
	c, _ := a.cfg.Pricing.Cost(replyModel, u)
	return c
}

// embeddedError maps an error object sent inside a 200 reply or a stream
// (as OpenRouter does) to a *agent.ProviderError; its numeric code is the
// status, 502 when absent.
func (a *Agent) embeddedError(raw json.RawMessage) error {
	info := wire.ParseErrorBody(append(append([]byte(`{"error":`), raw...), '}'))
	status := info.Code
	if status < 400 || status > 599 {
		status = http.StatusBadGateway
	}
	return wire.StatusError(a.cfg.Provider, status, nil, info, a.cfg.Now())
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

func (a *Agent) decodeReply(ctx context.Context, resp *http.Response, out *agent.Response, u *usage) error {
	p := a.cfg.Provider
	data, err := wire.ReadAll(resp.Body, wire.MaxBody)
	if err != nil {
		return wire.ReadError(ctx, p, resp.StatusCode, err)
	}
	var cr chatResponse
	if err := json.Unmarshal(data, &cr); err != nil {
		return wire.Invalid(p, resp.StatusCode, "decode reply: %v", err)
	}
	if !isNull(cr.Error) {
		return a.embeddedError(cr.Error)
	}
	if len(cr.Choices) == 0 {
		return wire.Invalid(p, resp.StatusCode, "reply has no choices")
	}
	text, err := contentText(cr.Choices[0].Message.Content)
	if err != nil {
		return wire.Invalid(p, resp.StatusCode, "decode message content: %v", err)
	}
	if strings.TrimSpace(text) == "" {
		return wire.Invalid(p, resp.StatusCode, "reply has no text")
	}
	out.Text = text
	if cr.Model != "" {
		out.Model = cr.Model
	}
	if cr.Usage != nil {
		*u = *cr.Usage
	}
	return nil
}

func (a *Agent) decodeStream(ctx context.Context, resp *http.Response, onChunk func(string), out *agent.Response, u *usage) error {
	p := a.cfg.Provider
	sr := wire.NewSSEReader(resp.Body)
	var text strings.Builder
	finished := false
	for {
		_, data, err := sr.Next()
		if errors.Is(err, io.EOF) {
			if !finished {
				return wire.Truncated(p)
			}
			break
		}
		if err != nil {
			return wire.ReadError(ctx, p, resp.StatusCode, err)
		}
		if string(bytes.TrimSpace(data)) == "[DONE]" {
			if !finished && text.Len() == 0 {
				return wire.Invalid(p, resp.StatusCode, "stream has no choices")
			}
			break
		}
		var chunk chatResponse
		if err := json.Unmarshal(data, &chunk); err != nil {
			return wire.Invalid(p, resp.StatusCode, "decode stream event: %v", err)
		}
		if !isNull(chunk.Error) {
			return a.embeddedError(chunk.Error)
		}
		if chunk.Model != "" {
			out.Model = chunk.Model
		}
		if chunk.Usage != nil {
			*u = *chunk.Usage
		}
		if len(chunk.Choices) == 0 {
			continue
		}
		c := chunk.Choices[0]
		delta, err := contentText(c.Delta.Content)
		if err != nil {
			return wire.Invalid(p, resp.StatusCode, "decode stream delta: %v", err)
		}
		if delta != "" {
			text.WriteString(delta)
			onChunk(delta)
		}
		if c.FinishReason != nil && *c.FinishReason != "" {
			finished = true
		}
	}
	if strings.TrimSpace(text.String()) == "" {
		return wire.Invalid(p, resp.StatusCode, "stream has no text")
	}
	out.Text = text.String()
	return nil
}

// contentText reads a message content that is a string, null, or an array
// of parts of which the "text" ones are joined (as some compatible servers
// send).
func contentText(raw json.RawMessage) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", err
	}
	var b strings.Builder
	for _, part := range parts {
		if part.Type == "text" || part.Type == "" {
			b.WriteString(part.Text)
		}
	}
	return b.String(), nil
}

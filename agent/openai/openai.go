package openai

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
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
// empty (docs/agents.md#built-in-agents), or "" when the model must be given (openrouter, vllm).
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

// withDefaults fills the fields New needs; HTTPClient, Pricing and Now
// take theirs in wire.NewAdapter.
func (c Config) withDefaults() Config {
	c.Provider = cmp.Or(c.Provider, ProviderOpenAI)
	c.Model = cmp.Or(c.Model, DefaultModel(c.Provider))
	c.BaseURL = strings.TrimRight(cmp.Or(c.BaseURL, DefaultBaseURL(c.Provider)), "/")
	c.MaxTokens = cmp.Or(c.MaxTokens, DefaultMaxTokens)
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
// agent.Agent, agent.Streamer, agent.Describer and agent.SchemaReplier, is safe for concurrent
// use, and never retries (retries belong to agent middleware). Build it
// with [New]; the zero value is not usable. Its Provider (the configured
// one, e.g. "openrouter"), Model, Describe and BaseURL are those every
// adapter shares; SupportsSchema, Respond and RespondStream are below.
type Agent struct {
	*adapter
	cfg Config
}

// adapter names the embedded wire.Adapter, whose methods are the Agent's.
type adapter = wire.Adapter

var (
	_ agent.Streamer      = (*Agent)(nil)
	_ agent.Describer     = (*Agent)(nil)
	_ agent.SchemaReplier = (*Agent)(nil)
)

// New returns an Agent for cfg, or an error when cfg is invalid.
func New(cfg Config) (*Agent, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg}
	a.adapter = wire.NewAdapter(wire.Client{Provider: cfg.Provider, Package: "openai", Model: cfg.Model, HTTPClient: cfg.HTTPClient,
		Pricing: cfg.Pricing, OnQuota: cfg.OnQuota, Now: cfg.Now}, cfg.BaseURL, a.exchange)
	return a, nil
}

// SchemaProvider reports whether provider takes a JSON schema in
// response_format: every provider of this package but DeepSeek, whose API
// knows only {"type": "json_object"}. Ollama's OpenAI-compatible endpoint
// passes the schema on to its native format parameter.
func SchemaProvider(provider string) bool {
	return provider != ProviderDeepSeek
}

// SupportsSchema reports whether the provider takes a JSON schema
// ([SchemaProvider]) and has not rejected it for the configured model
// (docs/agents.md#structured-replies).
func (a *Agent) SupportsSchema() bool {
	return SchemaProvider(a.cfg.Provider) && a.adapter.SupportsSchema()
}

// Respond sends req as one chat completion and returns the reply. A
// request with a Schema, to a provider that supports it, carries
// response_format {"type": "json_schema", "json_schema": {name, schema,
// strict: true}}; a 400 naming it is remembered for the model and the call
// is sent again at once without it (docs/agents.md#structured-replies).
func (a *Agent) Respond(ctx context.Context, req agent.Request) (agent.Response, error) {
	return a.adapter.Respond(ctx, a.schemaFree(req))
}

// schemaFree drops the Schema of a request to a provider that takes none,
// which is then asked in prose.
func (a *Agent) schemaFree(req agent.Request) agent.Request {
	if !SchemaProvider(a.cfg.Provider) {
		req.Schema = nil
	}
	return req
}

// RespondStream streams the reply, calling onChunk (when not nil) with each
// text delta in order. A stream that breaks or ends before "data: [DONE]"
// (or a finish_reason) fails with a *agent.ProviderError of kind server and
// no Response text, never a truncated success.
func (a *Agent) RespondStream(ctx context.Context, req agent.Request, onChunk func(chunk string)) (agent.Response, error) {
	return a.adapter.RespondStream(ctx, a.schemaFree(req), onChunk)
}

type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type chatRequest struct {
	Model               string          `json:"model"`
	Messages            []message       `json:"messages"`
	MaxTokens           int             `json:"max_tokens,omitempty"`
	MaxCompletionTokens int             `json:"max_completion_tokens,omitempty"`
	Temperature         *float64        `json:"temperature,omitempty"`
	Stream              bool            `json:"stream,omitempty"`
	StreamOptions       *streamOptions  `json:"stream_options,omitempty"`
	ResponseFormat      *responseFormat `json:"response_format,omitempty"`
}

// responseFormat asks for a reply matching a JSON schema (structured outputs).
type responseFormat struct {
	Type       string      `json:"type"` // "json_schema"
	JSONSchema *jsonSchema `json:"json_schema"`
}

type jsonSchema struct {
	Name   string          `json:"name"`
	Schema json.RawMessage `json:"schema"`
	Strict bool            `json:"strict"`
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

// exchange builds the request, with response_format when schema is set
// and req has a Schema. OpenAI itself gets max_completion_tokens
// (required by its reasoning models); every other server gets max_tokens.
// Temperature 0 means the provider's default. Streams ask for usage with
// stream_options.include_usage, except on Mistral, which reports usage
// unasked.
func (a *Agent) exchange(c *wire.Client, req agent.Request, stream, schema bool) wire.Exchange {
	cr := chatRequest{Model: a.cfg.Model, Stream: stream}
	if schema && req.Schema != nil {
		cr.ResponseFormat = &responseFormat{Type: "json_schema",
			JSONSchema: &jsonSchema{Name: req.Schema.Name, Schema: req.Schema.JSON, Strict: true}}
	}
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
	h := http.Header{}
	if a.cfg.APIKey != "" {
		h.Set("Authorization", "Bearer "+a.cfg.APIKey)
	}
	if a.cfg.Provider == ProviderOpenRouter {
		h.Set("X-Title", "Aragora")
	}
	return wire.Exchange{URL: a.cfg.BaseURL + "/chat/completions", Header: h, Body: cr, Stream: stream,
		Decoder: &decoder{c: c, p: a.cfg.Provider}}
}

// decoder reads one chat completion or stream.
type decoder struct {
	c        *wire.Client
	p        string
	finished bool // a choice reported its finish_reason
}

// read takes the model, usage and finish reason of one reply or chunk.
func read(cr *chatResponse, r *wire.Reply) {
	if cr.Model != "" {
		r.Model = cr.Model
	}
	if len(cr.Choices) > 0 && cr.Choices[0].FinishReason != nil && *cr.Choices[0].FinishReason != "" {
		r.FinishReason = *cr.Choices[0].FinishReason
	}
	if cr.Usage != nil {
		r.Usage = agent.Usage{InputTokens: cr.Usage.PromptTokens, OutputTokens: cr.Usage.CompletionTokens}
	}
}

func (d *decoder) Reply(data []byte, status int, r *wire.Reply) (string, error) {
	var cr chatResponse
	if err := wire.Decode(d.p, status, "reply", data, &cr); err != nil {
		return "", err
	}
	if err := d.c.Embedded(cr.Error, http.StatusBadGateway); err != nil {
		return "", err
	}
	if len(cr.Choices) == 0 {
		return "", wire.Invalid(d.p, status, "reply has no choices")
	}
	text, err := contentText(cr.Choices[0].Message.Content)
	if err != nil {
		return "", wire.Invalid(d.p, status, "decode message content: %v", err)
	}
	if strings.TrimSpace(text) == "" {
		return "", wire.Invalid(d.p, status, "reply has no text")
	}
	read(&cr, r)
	return text, nil
}

func (d *decoder) Event(_ string, data []byte, status int, r *wire.Reply) (string, bool, error) {
	if string(bytes.TrimSpace(data)) == "[DONE]" {
		return "", true, nil
	}
	var chunk chatResponse
	if err := wire.Decode(d.p, status, "stream event", data, &chunk); err != nil {
		return "", false, err
	}
	if err := d.c.Embedded(chunk.Error, http.StatusBadGateway); err != nil {
		return "", false, err
	}
	read(&chunk, r)
	if len(chunk.Choices) == 0 {
		return "", false, nil
	}
	c := chunk.Choices[0]
	delta, err := contentText(c.Delta.Content)
	if err != nil {
		return "", false, wire.Invalid(d.p, status, "decode stream delta: %v", err)
	}
	if c.FinishReason != nil && *c.FinishReason != "" {
		d.finished = true
	}
	return delta, false, nil
}

// Finish fails a stream that ended before "data: [DONE]" and without a
// finish_reason (a lost connection, kind server), or that carried no text.
func (d *decoder) Finish(text string, eof bool, status int, _ *wire.Reply) error {
	switch {
	case eof && !d.finished:
		return wire.Truncated(d.p)
	case !eof && !d.finished && text == "":
		return wire.Invalid(d.p, status, "stream has no choices")
	case strings.TrimSpace(text) == "":
		return wire.Invalid(d.p, status, "stream has no text")
	}
	return nil
}

// contentText reads a message content that is a string, null, or an array
// of parts of which the "text" ones are joined (as some compatible servers
// send).
func contentText(raw json.RawMessage) (string, error) {
	if wire.IsNull(raw) {
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

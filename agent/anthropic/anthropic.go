package anthropic

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/internal/wire"
	"github.com/aragora/aragora/agent/pricing"
)

// Provider is the provider name reported in responses and errors.
const Provider = "anthropic"

// Defaults of [Config].
const (
	DefaultBaseURL   = "https://api.anthropic.com"
	DefaultModel     = "claude-sonnet-4-5"
	DefaultVersion   = "2023-06-01"
	DefaultMaxTokens = 2048
)

// Config configures an [Agent]. APIKey is required; every other field has
// a documented default.
type Config struct {
	// APIKey is sent as the x-api-key header. Required.
	APIKey string
	// Model defaults to [DefaultModel].
	Model string
	// BaseURL defaults to [DefaultBaseURL] (ANTHROPIC_BASE_URL overrides it in
	// the registry); requests go to BaseURL + "/v1/messages".
	BaseURL string
	// Version is the anthropic-version header; default [DefaultVersion].
	Version string
	// HTTPClient defaults to a client using http.DefaultTransport, which
	// honours HTTPS_PROXY, HTTP_PROXY and NO_PROXY. Calls are bounded by
	// their context, so the client needs no Timeout.
	HTTPClient *http.Client
	// MaxTokens is the reply limit when a request sets none (the Messages
	// API requires one); default [DefaultMaxTokens].
	MaxTokens int
	// Pricing prices the calls (Response.CostUSD); nil means
	// pricing.Default(). An empty non-nil table disables costs.
	Pricing pricing.Table
	// OnQuota, when set, is called with anthropic-ratelimit-requests-remaining
	// and anthropic-ratelimit-requests-reset after every reply that carries
	// them. It must be fast and safe for concurrent use.
	OnQuota func(remaining int, reset time.Time)
	// Now defaults to time.Now; it dates Retry-After.
	Now func() time.Time
}

// withDefaults fills the fields New needs; HTTPClient, Pricing and Now
// take theirs in wire.NewAdapter.
func (c Config) withDefaults() Config {
	c.Model = cmp.Or(c.Model, DefaultModel)
	c.BaseURL = strings.TrimRight(cmp.Or(c.BaseURL, DefaultBaseURL), "/")
	c.Version = cmp.Or(c.Version, DefaultVersion)
	c.MaxTokens = cmp.Or(c.MaxTokens, DefaultMaxTokens)
	return c
}

// Validate reports a missing key or model, a base URL that is not an
// absolute http(s) URL, or a negative MaxTokens.
func (c Config) Validate() error {
	if c.APIKey == "" {
		return errors.New("anthropic: API key required")
	}
	return wire.CheckConfig("anthropic", c.Model, c.BaseURL, c.MaxTokens)
}

// Agent calls the Anthropic Messages API. It implements agent.Agent,
// agent.Streamer, agent.Describer and agent.SchemaReplier, is safe for
// concurrent use, and never retries. Build it with [New]; the zero value is
// not usable. Its methods are those every adapter shares: Provider
// ("anthropic"), Model, Describe, BaseURL, SupportsSchema, Respond and
// RespondStream.
//
// Respond sends the request as one message and returns the reply. A
// request with a Schema is sent with one tool whose input_schema is the
// schema and a tool_choice forcing it; the reply is the tool_use block's
// input. A 400 naming the tools is remembered for the model (SupportsSchema
// then reports false) and the call sent again at once in prose
// (docs/agents.md#structured-replies).
//
// RespondStream streams the reply, calling onChunk (when not nil) with each
// text delta in order. A stream that breaks or ends before message_stop
// fails with a *agent.ProviderError of kind server, never a truncated
// success; an error event fails with the status its type stands for
// (overloaded_error: 529, Overloaded set).
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
	a.adapter = wire.NewAdapter(wire.Client{Provider: Provider, Package: "anthropic", Model: cfg.Model, HTTPClient: cfg.HTTPClient,
		Pricing: cfg.Pricing, OnQuota: cfg.OnQuota, Now: cfg.Now, StatusError: statusError}, cfg.BaseURL, a.exchange)
	return a, nil
}

type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type messagesRequest struct {
	Model       string      `json:"model"`
	MaxTokens   int         `json:"max_tokens"`
	System      string      `json:"system,omitempty"`
	Messages    []message   `json:"messages"`
	Temperature *float64    `json:"temperature,omitempty"`
	Stream      bool        `json:"stream,omitempty"`
	Tools       []tool      `json:"tools,omitempty"`
	ToolChoice  *toolChoice `json:"tool_choice,omitempty"`
}

// tool is a tool definition; a structured reply is a forced call of it.
type tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type toolChoice struct {
	Type string `json:"type"` // "tool"
	Name string `json:"name"`
}

type usage struct {
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
}

func (u usage) input() int {
	return u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens
}

type messagesResponse struct {
	Type    string `json:"type"`
	Model   string `json:"model"`
	Content []struct {
		Type  string          `json:"type"`
		Text  string          `json:"text"`
		Name  string          `json:"name"`  // tool_use
		Input json.RawMessage `json:"input"` // tool_use
	} `json:"content"`
	StopReason string `json:"stop_reason"`
	Usage      *usage `json:"usage"`
}

// streamEvent is any event of a Messages stream.
type streamEvent struct {
	Type    string            `json:"type"`
	Message *messagesResponse `json:"message"` // message_start
	Delta   *struct {
		Type        string `json:"type"`
		Text        string `json:"text"`
		PartialJSON string `json:"partial_json"` // input_json_delta
		StopReason  string `json:"stop_reason"`
	} `json:"delta"` // content_block_delta, message_delta
	Usage *usage          `json:"usage"` // message_delta
	Error json.RawMessage `json:"error"` // error
}

// exchange builds the request, with the forced tool of req.Schema when
// schema is set. Temperature 0 means the provider's default; values above
// 1, the Messages API's maximum, are sent as 1.
func (a *Agent) exchange(c *wire.Client, req agent.Request, stream, schema bool) wire.Exchange {
	mr := messagesRequest{
		Model:     a.cfg.Model,
		MaxTokens: req.MaxTokens,
		System:    req.System,
		Messages:  []message{{Role: "user", Content: req.Prompt}},
		Stream:    stream,
	}
	if mr.MaxTokens <= 0 {
		mr.MaxTokens = a.cfg.MaxTokens
	}
	if req.Temperature > 0 {
		t := min(req.Temperature, 1)
		mr.Temperature = &t
	}
	d := &decoder{c: c}
	if schema && req.Schema != nil {
		mr.Tools = []tool{{Name: req.Schema.Name, Description: req.Schema.Description, InputSchema: req.Schema.JSON}}
		mr.ToolChoice = &toolChoice{Type: "tool", Name: req.Schema.Name}
		d.tool = req.Schema.Name
	}
	h := http.Header{}
	h.Set("x-api-key", a.cfg.APIKey)
	h.Set("anthropic-version", a.cfg.Version)
	return wire.Exchange{URL: a.cfg.BaseURL + "/v1/messages", Header: h, Body: mr, Stream: stream, Decoder: d}
}

// statusError adds Anthropic's specifics to the common mapping: 529 and
// overloaded_error set Overloaded; a 400 about the credit balance, or a
// billing_error, is quota exhaustion.
func statusError(status int, h http.Header, body []byte, now time.Time) error {
	info := wire.ParseErrorBody(body)
	if status == http.StatusBadRequest && (wire.MentionsQuota(info.Message) || strings.Contains(info.Type, "billing")) {
		return &agent.ProviderError{Provider: Provider, StatusCode: status,
			Err: fmt.Errorf("%w: %s", agent.ErrQuotaExhausted, info.Text())}
	}
	pe := wire.StatusError(Provider, status, h, info, now)
	if status == 529 || strings.Contains(info.Type, "overloaded") {
		pe.Overloaded = true
	}
	return pe
}

// eventStatus is the HTTP status an error event's type stands for.
func eventStatus(typ string) int {
	switch typ {
	case "overloaded_error":
		return 529
	case "rate_limit_error":
		return http.StatusTooManyRequests
	case "authentication_error":
		return http.StatusUnauthorized
	case "permission_error":
		return http.StatusForbidden
	case "billing_error":
		return http.StatusPaymentRequired
	case "invalid_request_error":
		return http.StatusBadRequest
	case "not_found_error":
		return http.StatusNotFound
	case "request_too_large":
		return http.StatusRequestEntityTooLarge
	case "timeout_error":
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// decoder reads one Messages reply. Counts in message_delta are
// cumulative, and input counts appear there only in newer API versions, so
// the stream's usage is kept here and reported as it grows.
type decoder struct {
	c    *wire.Client
	u    usage
	tool string // the forced tool of a structured reply, whose input is the reply
}

func (d *decoder) Reply(data []byte, status int, r *wire.Reply) (string, error) {
	var mr messagesResponse
	if err := wire.Decode(Provider, status, "reply", data, &mr); err != nil {
		return "", err
	}
	var text strings.Builder
	for _, c := range mr.Content {
		if d.tool != "" && c.Type == "tool_use" && c.Name == d.tool && len(c.Input) > 0 {
			text.Reset() // the tool's input is the whole reply
			text.Write(c.Input)
			break
		}
		if c.Type == "text" {
			text.WriteString(c.Text)
		}
	}
	if strings.TrimSpace(text.String()) == "" {
		return "", wire.Invalid(Provider, status, "reply has no text content (stop_reason %q)", mr.StopReason)
	}
	r.Model, r.FinishReason = mr.Model, mr.StopReason
	if mr.Usage != nil {
		d.u = *mr.Usage
	}
	r.Usage = agent.Usage{InputTokens: d.u.input(), OutputTokens: d.u.OutputTokens}
	return text.String(), nil
}

func (d *decoder) Event(_ string, data []byte, status int, r *wire.Reply) (string, bool, error) {
	var ev streamEvent
	if err := wire.Decode(Provider, status, "stream event", data, &ev); err != nil {
		return "", false, err
	}
	var delta string
	switch ev.Type {
	case "message_start":
		if ev.Message != nil {
			if ev.Message.Model != "" {
				r.Model = ev.Message.Model
			}
			if ev.Message.Usage != nil {
				d.u = *ev.Message.Usage
			}
		}
	case "content_block_delta":
		switch {
		case ev.Delta == nil:
		case ev.Delta.Type == "text_delta" && d.tool == "":
			delta = ev.Delta.Text
		case ev.Delta.Type == "input_json_delta" && d.tool != "":
			delta = ev.Delta.PartialJSON // the forced tool's input, streamed
		}
	case "message_delta":
		if ev.Delta != nil && ev.Delta.StopReason != "" {
			r.FinishReason = ev.Delta.StopReason
		}
		if ev.Usage != nil {
			if ev.Usage.OutputTokens > 0 {
				d.u.OutputTokens = ev.Usage.OutputTokens
			}
			if ev.Usage.input() > 0 {
				d.u.InputTokens = ev.Usage.InputTokens
				d.u.CacheCreationInputTokens = ev.Usage.CacheCreationInputTokens
				d.u.CacheReadInputTokens = ev.Usage.CacheReadInputTokens
			}
		}
	case "error":
		return "", false, d.c.EmbeddedError(eventStatus(wire.ParseErrorObject(ev.Error).Type), ev.Error)
	}
	r.Usage = agent.Usage{InputTokens: d.u.input(), OutputTokens: d.u.OutputTokens}
	return delta, ev.Type == "message_stop", nil
}

// Finish fails a stream that ended before message_stop (a lost
// connection, kind server) or that carried no text.
func (d *decoder) Finish(text string, eof bool, status int, _ *wire.Reply) error {
	if eof {
		return wire.Truncated(Provider)
	}
	if strings.TrimSpace(text) == "" {
		return wire.Invalid(Provider, status, "stream has no text content")
	}
	return nil
}

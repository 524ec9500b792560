package anthropic

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

func (c Config) withDefaults() Config {
	if c.Model == "" {
		c.Model = DefaultModel
	}
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.Version == "" {
		c.Version = DefaultVersion
	}
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

// Validate reports a missing key or model, a base URL that is not an
// absolute http(s) URL, or a negative MaxTokens.
func (c Config) Validate() error {
	if c.APIKey == "" {
		return errors.New("anthropic: API key required")
	}
	if c.Model == "" {
		return errors.New("anthropic: model required")
	}
	if !wire.ValidBaseURL(c.BaseURL) {
		return fmt.Errorf("anthropic: base URL %q: want an absolute http or https URL", c.BaseURL)
	}
	if c.MaxTokens < 0 {
		return fmt.Errorf("anthropic: max tokens %d: want >= 0", c.MaxTokens)
	}
	return nil
}

// Agent calls the Anthropic Messages API. It implements agent.Agent and
// agent.Streamer, is safe for concurrent use, and never retries. Build it
// with [New]; the zero value is not usable.
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

// Provider returns "anthropic".
func (a *Agent) Provider() string { return Provider }

// Model returns the configured model.
func (a *Agent) Model() string { return a.cfg.Model }

// BaseURL returns the base URL requests go to.
func (a *Agent) BaseURL() string { return a.cfg.BaseURL }

// Respond sends req as one message and returns the reply.
func (a *Agent) Respond(ctx context.Context, req agent.Request) (agent.Response, error) {
	return a.do(ctx, req, nil)
}

// RespondStream streams the reply, calling onChunk (when not nil) with each
// text delta in order. A stream that breaks or ends before message_stop
// fails with a *agent.ProviderError of kind server, never a truncated
// success; an error event fails with the status its type stands for
// (overloaded_error: 529, Overloaded set).
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

type messagesRequest struct {
	Model       string    `json:"model"`
	MaxTokens   int       `json:"max_tokens"`
	System      string    `json:"system,omitempty"`
	Messages    []message `json:"messages"`
	Temperature *float64  `json:"temperature,omitempty"`
	Stream      bool      `json:"stream,omitempty"`
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
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	StopReason string `json:"stop_reason"`
	Usage      *usage `json:"usage"`
}

// streamEvent is any event of a Messages stream.
type streamEvent struct {
	Type    string            `json:"type"`
	Message *messagesResponse `json:"message"` // message_start
	Delta   *struct {
		Type       string `json:"type"`
		Text       string `json:"text"`
		StopReason string `json:"stop_reason"`
	} `json:"delta"` // content_block_delta, message_delta
	Usage *usage          `json:"usage"` // message_delta
	Error json.RawMessage `json:"error"` // error
}

// body builds the request. Temperature 0 means the provider's default;
// values above 1, the Messages API's maximum, are sent as 1.
func (a *Agent) body(req agent.Request, stream bool) ([]byte, error) {
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
	return json.Marshal(mr)
}

func (a *Agent) do(ctx context.Context, req agent.Request, onChunk func(string)) (agent.Response, error) {
	body, err := a.body(req, onChunk != nil)
	if err != nil {
		return agent.Response{}, fmt.Errorf("anthropic: encode request: %w", err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.BaseURL+"/v1/messages", bytes.NewReader(body))
	if err != nil {
		return agent.Response{}, fmt.Errorf("anthropic: build request: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("x-api-key", a.cfg.APIKey)
	hreq.Header.Set("anthropic-version", a.cfg.Version)
	if onChunk != nil {
		hreq.Header.Set("Accept", "text/event-stream")
	} else {
		hreq.Header.Set("Accept", "application/json")
	}
	resp, err := a.cfg.HTTPClient.Do(hreq)
	if err != nil {
		return agent.Response{}, wire.ConnError(ctx, Provider, err)
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
			return agent.Response{}, wire.ConnError(ctx, Provider, err)
		}
		return agent.Response{}, a.statusError(resp.StatusCode, resp.Header, wire.ParseErrorBody(data), now)
	}
	out := agent.Response{Provider: Provider, Model: a.cfg.Model, Attempts: 1}
	var u usage
	if onChunk == nil {
		err = a.decodeReply(ctx, resp, &out, &u)
	} else {
		err = a.decodeStream(ctx, resp, onChunk, &out, &u)
	}
	if err != nil {
		return agent.Response{}, err
	}
	out.Usage = agent.Usage{InputTokens: u.input(), OutputTokens: u.OutputTokens}
	if c, ok := a.cfg.Pricing.Cost(a.cfg.Model, out.Usage); ok {
		out.CostUSD = c
	} else {
		out.CostUSD, _ = a.cfg.Pricing.Cost(out.Model, out.Usage)
	}
	return out, nil
}

// statusError adds Anthropic's specifics to the common mapping: 529 and
// overloaded_error set Overloaded; a 400 about the credit balance, or a
// billing_error, is quota exhaustion.
func (a *Agent) statusError(status int, h http.Header, info wire.ErrorInfo, now time.Time) error {
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

func (a *Agent) decodeReply(ctx context.Context, resp *http.Response, out *agent.Response, u *usage) error {
	data, err := wire.ReadAll(resp.Body, wire.MaxBody)
	if err != nil {
		return wire.ReadError(ctx, Provider, resp.StatusCode, err)
	}
	var mr messagesResponse
	if err := json.Unmarshal(data, &mr); err != nil {
		return wire.Invalid(Provider, resp.StatusCode, "decode reply: %v", err)
	}
	var text strings.Builder
	for _, c := range mr.Content {
		if c.Type == "text" {
			text.WriteString(c.Text)
		}
	}
	if strings.TrimSpace(text.String()) == "" {
		return wire.Invalid(Provider, resp.StatusCode, "reply has no text content (stop_reason %q)", mr.StopReason)
	}
	out.Text = text.String()
	if mr.Model != "" {
		out.Model = mr.Model
	}
	if mr.Usage != nil {
		*u = *mr.Usage
	}
	return nil
}

func (a *Agent) decodeStream(ctx context.Context, resp *http.Response, onChunk func(string), out *agent.Response, u *usage) error {
	sr := wire.NewSSEReader(resp.Body)
	var text strings.Builder
	for {
		_, data, err := sr.Next()
		if errors.Is(err, io.EOF) {
			return wire.Truncated(Provider)
		}
		if err != nil {
			return wire.ReadError(ctx, Provider, resp.StatusCode, err)
		}
		var ev streamEvent
		if err := json.Unmarshal(data, &ev); err != nil {
			return wire.Invalid(Provider, resp.StatusCode, "decode stream event: %v", err)
		}
		switch ev.Type {
		case "message_start":
			if ev.Message != nil {
				if ev.Message.Model != "" {
					out.Model = ev.Message.Model
				}
				if ev.Message.Usage != nil {
					*u = *ev.Message.Usage
				}
			}
		case "content_block_delta":
			if ev.Delta != nil && ev.Delta.Type == "text_delta" && ev.Delta.Text != "" {
				text.WriteString(ev.Delta.Text)
				onChunk(ev.Delta.Text)
			}
		case "message_delta":
			if ev.Usage != nil {
				// Counts in message_delta are cumulative; input counts appear
				// only in newer API versions.
				if ev.Usage.OutputTokens > 0 {
					u.OutputTokens = ev.Usage.OutputTokens
				}
				if ev.Usage.input() > 0 {
					u.InputTokens = ev.Usage.InputTokens
					u.CacheCreationInputTokens = ev.Usage.CacheCreationInputTokens
					u.CacheReadInputTokens = ev.Usage.CacheReadInputTokens
				}
			}
		case "message_stop":
			if strings.TrimSpace(text.String()) == "" {
				return wire.Invalid(Provider, resp.StatusCode, "stream has no text content")
			}
			out.Text = text.String()
			return nil
		case "error":
			raw := ev.Error
			if len(raw) == 0 {
				raw = json.RawMessage("null")
			}
			info := wire.ParseErrorBody(append(append([]byte(`{"error":`), raw...), '}'))
			return a.statusError(eventStatus(info.Type), nil, info, a.cfg.Now())
		}
	}
}

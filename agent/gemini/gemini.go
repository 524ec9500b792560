package gemini

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/internal/wire"
	"github.com/aragora/aragora/agent/pricing"
)

// Provider is the provider name reported in responses and errors.
const Provider = "gemini"

// Defaults of [Config].
const (
	DefaultBaseURL    = "https://generativelanguage.googleapis.com"
	DefaultAPIVersion = "v1beta"
	DefaultModel      = "gemini-2.5-pro"
	DefaultMaxTokens  = 2048
)

// Config configures an [Agent]. APIKey is required; every other field has
// a documented default.
type Config struct {
	// APIKey is sent as the x-goog-api-key header (or the key query
	// parameter with KeyInQuery). Required.
	APIKey string
	// KeyInQuery sends the key as ?key= instead of a header, for gateways
	// that expect it there.
	KeyInQuery bool
	// Model defaults to [DefaultModel]; a "models/" prefix is accepted.
	Model string
	// BaseURL defaults to [DefaultBaseURL] (GEMINI_BASE_URL overrides it in
	// the registry); requests go to
	// BaseURL/APIVersion/models/Model:generateContent.
	BaseURL string
	// APIVersion defaults to [DefaultAPIVersion].
	APIVersion string
	// HTTPClient defaults to a client using http.DefaultTransport, which
	// honours HTTPS_PROXY, HTTP_PROXY and NO_PROXY. Calls are bounded by
	// their context, so the client needs no Timeout.
	HTTPClient *http.Client
	// MaxTokens is maxOutputTokens when a request sets none; default
	// [DefaultMaxTokens]. Gemini 2.5 models spend part of it thinking.
	MaxTokens int
	// Pricing prices the calls (Response.CostUSD); nil means
	// pricing.Default(). An empty non-nil table disables costs.
	Pricing pricing.Table
	// OnQuota, when set, is called with the remaining-requests count of
	// rate-limit headers, when a gateway sends them (Google does not). It
	// must be fast and safe for concurrent use.
	OnQuota func(remaining int, reset time.Time)
	// Now defaults to time.Now; it dates Retry-After.
	Now func() time.Time
}

// withDefaults fills the fields New needs; HTTPClient, Pricing and Now
// take theirs in wire.NewAdapter.
func (c Config) withDefaults() Config {
	c.Model = cmp.Or(strings.TrimPrefix(c.Model, "models/"), DefaultModel)
	c.BaseURL = strings.TrimRight(cmp.Or(c.BaseURL, DefaultBaseURL), "/")
	c.APIVersion = cmp.Or(c.APIVersion, DefaultAPIVersion)
	c.MaxTokens = cmp.Or(c.MaxTokens, DefaultMaxTokens)
	return c
}

// Validate reports a missing key, a base URL that is not an absolute
// http(s) URL, or a negative MaxTokens.
func (c Config) Validate() error {
	if c.APIKey == "" {
		return errors.New("gemini: API key required")
	}
	return wire.CheckConfig("gemini", c.Model, c.BaseURL, c.MaxTokens)
}

// Agent calls the Gemini generateContent API. It implements agent.Agent,
// agent.Streamer, agent.Describer and agent.SchemaReplier, is safe for
// concurrent use, and never retries. Build it with [New]; the zero value is
// not usable. Its methods are those every adapter shares: Provider
// ("gemini"), Model, Describe, BaseURL, SupportsSchema, Respond and
// RespondStream.
//
// Respond sends the request to generateContent and returns the reply. A
// request with a Schema sets generationConfig.responseMimeType
// "application/json" and responseSchema (the schema in Gemini's OpenAPI
// subset); a 400 naming them is remembered for the model (SupportsSchema
// then reports false) and the call sent again at once in prose
// (docs/agents.md#structured-replies).
//
// RespondStream streams the reply from streamGenerateContent?alt=sse,
// calling onChunk (when not nil) with each text delta in order. A stream
// that breaks, or ends before a candidate reports its finishReason, fails
// with a *agent.ProviderError of kind server, never a truncated success.
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
	a.adapter = wire.NewAdapter(wire.Client{Provider: Provider, Package: "gemini", Model: cfg.Model, HTTPClient: cfg.HTTPClient,
		Pricing: cfg.Pricing, OnQuota: cfg.OnQuota, Now: cfg.Now, Secret: cfg.APIKey, StatusError: statusError}, cfg.BaseURL, a.exchange)
	return a, nil
}

type part struct {
	Text    string `json:"text"`
	Thought bool   `json:"thought,omitempty"`
}

type content struct {
	Role  string `json:"role,omitempty"`
	Parts []part `json:"parts"`
}

type generationConfig struct {
	MaxOutputTokens  int      `json:"maxOutputTokens,omitempty"`
	Temperature      *float64 `json:"temperature,omitempty"`
	ResponseMimeType string   `json:"responseMimeType,omitempty"`
	ResponseSchema   any      `json:"responseSchema,omitempty"`
}

type generateRequest struct {
	SystemInstruction *content         `json:"systemInstruction,omitempty"`
	Contents          []content        `json:"contents"`
	GenerationConfig  generationConfig `json:"generationConfig"`
}

type usageMetadata struct {
	PromptTokenCount     int `json:"promptTokenCount"`
	CandidatesTokenCount int `json:"candidatesTokenCount"`
	ThoughtsTokenCount   int `json:"thoughtsTokenCount"`
}

type generateResponse struct {
	Candidates []struct {
		Content      content `json:"content"`
		FinishReason string  `json:"finishReason"`
	} `json:"candidates"`
	PromptFeedback *struct {
		BlockReason string `json:"blockReason"`
	} `json:"promptFeedback"`
	UsageMetadata *usageMetadata  `json:"usageMetadata"`
	ModelVersion  string          `json:"modelVersion"`
	Error         json.RawMessage `json:"error"`
}

// text returns the non-thought text of the first candidate and its finish
// reason.
func (r *generateResponse) text() (string, string) {
	if len(r.Candidates) == 0 {
		return "", ""
	}
	var b strings.Builder
	for _, p := range r.Candidates[0].Content.Parts {
		if !p.Thought {
			b.WriteString(p.Text)
		}
	}
	return b.String(), r.Candidates[0].FinishReason
}

// exchange builds the request, asking for JSON matching req.Schema when
// schema is set. Temperature 0 means the provider's default.
func (a *Agent) exchange(c *wire.Client, req agent.Request, stream, schema bool) wire.Exchange {
	gr := generateRequest{Contents: []content{{Role: "user", Parts: []part{{Text: req.Prompt}}}}}
	if req.System != "" {
		gr.SystemInstruction = &content{Parts: []part{{Text: req.System}}}
	}
	gr.GenerationConfig.MaxOutputTokens = req.MaxTokens
	if gr.GenerationConfig.MaxOutputTokens <= 0 {
		gr.GenerationConfig.MaxOutputTokens = a.cfg.MaxTokens
	}
	if req.Temperature > 0 {
		t := req.Temperature
		gr.GenerationConfig.Temperature = &t
	}
	if schema && req.Schema != nil {
		if rs, ok := ResponseSchema(req.Schema.JSON); ok {
			gr.GenerationConfig.ResponseMimeType = "application/json"
			gr.GenerationConfig.ResponseSchema = rs
		}
	}
	h := http.Header{}
	if !a.cfg.KeyInQuery {
		h.Set("x-goog-api-key", a.cfg.APIKey)
	}
	return wire.Exchange{URL: a.endpoint(stream), Header: h, Body: gr, Stream: stream, Decoder: &decoder{c: c}}
}

func (a *Agent) endpoint(stream bool) string {
	method, q := "generateContent", url.Values{}
	if stream {
		method = "streamGenerateContent"
		q.Set("alt", "sse")
	}
	if a.cfg.KeyInQuery {
		q.Set("key", a.cfg.APIKey)
	}
	u := a.cfg.BaseURL + "/" + a.cfg.APIVersion + "/models/" + url.PathEscape(a.cfg.Model) + ":" + method
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// statusError adds Gemini's specifics to the common mapping: an invalid
// API key (400 API_KEY_INVALID) is an auth error, and the RetryInfo detail
// gives the retry delay when no Retry-After header does.
func statusError(status int, h http.Header, body []byte, now time.Time) error {
	info := wire.ParseErrorBody(body)
	var details struct {
		Error struct {
			Details []struct {
				Type       string `json:"@type"`
				Reason     string `json:"reason"`
				RetryDelay string `json:"retryDelay"`
			} `json:"details"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &details)
	keyInvalid := strings.Contains(strings.ToLower(info.Message), "api key not valid")
	var retry time.Duration
	for _, d := range details.Error.Details {
		if d.Reason == "API_KEY_INVALID" {
			keyInvalid = true
		}
		if strings.HasSuffix(d.Type, "google.rpc.RetryInfo") {
			if r, err := time.ParseDuration(d.RetryDelay); err == nil && r > 0 {
				retry = r
			}
		}
	}
	if keyInvalid && status == http.StatusBadRequest {
		return &agent.ProviderError{Provider: Provider, StatusCode: status, Err: fmt.Errorf("%w: %s", agent.ErrAuth, info.Text())}
	}
	pe := wire.StatusError(Provider, status, h, info, now)
	if pe.RetryAfter == 0 {
		pe.RetryAfter = retry
	}
	return pe
}

// noText explains a reply without text.
func noText(r *generateResponse, status int) error {
	switch {
	case r.PromptFeedback != nil && r.PromptFeedback.BlockReason != "":
		return wire.Invalid(Provider, status, "prompt blocked: %s", r.PromptFeedback.BlockReason)
	case len(r.Candidates) == 0:
		return wire.Invalid(Provider, status, "reply has no candidates")
	}
	return wire.Invalid(Provider, status, "reply has no text (finishReason %q)", r.Candidates[0].FinishReason)
}

// decoder reads one generateContent reply or stream.
type decoder struct {
	c        *wire.Client
	last     generateResponse // the stream's last event
	finished bool             // a candidate reported its finishReason
}

// read takes the model, usage and finish reason of one reply or event.
// Thinking tokens are billed as output.
func read(gr *generateResponse, r *wire.Reply) {
	if gr.ModelVersion != "" {
		r.Model = gr.ModelVersion
	}
	if len(gr.Candidates) > 0 && gr.Candidates[0].FinishReason != "" {
		r.FinishReason = gr.Candidates[0].FinishReason
	}
	if u := gr.UsageMetadata; u != nil {
		r.Usage = agent.Usage{InputTokens: u.PromptTokenCount, OutputTokens: u.CandidatesTokenCount + u.ThoughtsTokenCount}
	}
}

func (d *decoder) Reply(data []byte, status int, r *wire.Reply) (string, error) {
	var gr generateResponse
	if err := wire.Decode(Provider, status, "reply", data, &gr); err != nil {
		return "", err
	}
	if err := d.c.Embedded(gr.Error, http.StatusInternalServerError); err != nil {
		return "", err
	}
	text, _ := gr.text()
	if strings.TrimSpace(text) == "" {
		return "", noText(&gr, status)
	}
	read(&gr, r)
	return text, nil
}

func (d *decoder) Event(_ string, data []byte, status int, r *wire.Reply) (string, bool, error) {
	var gr generateResponse
	if err := wire.Decode(Provider, status, "stream event", data, &gr); err != nil {
		return "", false, err
	}
	if err := d.c.Embedded(gr.Error, http.StatusInternalServerError); err != nil {
		return "", false, err
	}
	d.last = gr
	read(&gr, r)
	delta, reason := gr.text()
	if reason != "" || (gr.PromptFeedback != nil && gr.PromptFeedback.BlockReason != "") {
		d.finished = true
	}
	// Gemini has no terminator event: the stream ends with the body.
	return delta, false, nil
}

// Finish fails a stream in which no candidate reported its finishReason
// (a lost connection, kind server), or that carried no text.
func (d *decoder) Finish(text string, _ bool, status int, _ *wire.Reply) error {
	if !d.finished {
		return wire.Truncated(Provider)
	}
	if strings.TrimSpace(text) == "" {
		return noText(&d.last, status)
	}
	return nil
}

// ResponseSchema converts a JSON Schema to the OpenAPI subset Gemini's
// responseSchema takes: type names in upper case ("OBJECT"),
// additionalProperties dropped (Gemini refuses it), and propertyOrdering
// set to an object's required properties, in order, so that the reply's
// keys come in the schema's order. Keywords Gemini knows (description,
// enum, items, properties, required, nullable, format, minimum, maximum,
// minItems, maxItems) are kept; others are dropped. ok is false when
// schema is not a JSON object.
func ResponseSchema(schema json.RawMessage) (map[string]any, bool) {
	var m map[string]any
	if err := json.Unmarshal(schema, &m); err != nil || m == nil {
		return nil, false
	}
	return openAPISchema(m, 0), true
}

// maxSchemaDepth bounds the nesting ResponseSchema follows.
const maxSchemaDepth = 32

func openAPISchema(m map[string]any, depth int) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch k {
		case "type":
			if t, ok := v.(string); ok {
				out[k] = strings.ToUpper(t)
			}
		case "items":
			if sub, ok := v.(map[string]any); ok && depth < maxSchemaDepth {
				out[k] = openAPISchema(sub, depth+1)
			}
		case "properties":
			props, ok := v.(map[string]any)
			if !ok || depth >= maxSchemaDepth {
				continue
			}
			conv := make(map[string]any, len(props))
			for name, p := range props {
				if sub, ok := p.(map[string]any); ok {
					conv[name] = openAPISchema(sub, depth+1)
				}
			}
			out[k] = conv
		case "required":
			out[k] = v
			if _, given := m["propertyOrdering"]; !given {
				out["propertyOrdering"] = v
			}
		case "description", "enum", "nullable", "format", "minimum", "maximum", "minItems", "maxItems", "propertyOrdering":
			out[k] = v
		}
	}
	return out
}

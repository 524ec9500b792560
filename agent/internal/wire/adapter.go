package wire

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/pricing"
)

// BuildFunc builds the exchange of one call of req, streamed or not, with
// the provider's schema parameter when schema is set (and req has a
// Schema). c is the Client the call goes through, for the Decoders that
// map embedded errors (Client.EmbeddedError).
type BuildFunc func(c *Client, req agent.Request, stream, schema bool) Exchange

// Adapter is what every adapter's Agent does the same way: it names its
// provider, model and base URL, sends each call through a Client, asks
// for a structured reply while the model has not refused the schema
// parameter (DoSchema), and streams to a callback that may be nil. An
// adapter's Agent embeds it, so that these methods are the Agent's, and
// keeps its configuration and wire shapes (the BuildFunc and its Decoder).
// An Adapter is safe for concurrent use.
type Adapter struct {
	c       *Client
	baseURL string
	build   BuildFunc
	schemas SchemaMemo // models that rejected the schema parameter
}

// NewAdapter returns the Adapter sending the calls build makes through c
// to baseURL (which each Exchange's URL starts with). A zero HTTPClient,
// Pricing or Now of c takes the default every adapter's Config documents:
// a client using http.DefaultTransport, pricing.Default() and time.Now. An
// empty non-nil Pricing prices nothing.
func NewAdapter(c Client, baseURL string, build BuildFunc) *Adapter {
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	if c.Pricing == nil {
		c.Pricing = pricing.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Adapter{c: &c, baseURL: baseURL, build: build}
}

// Provider returns the provider name, e.g. "anthropic".
func (a *Adapter) Provider() string { return a.c.Provider }

// Model returns the configured model.
func (a *Adapter) Model() string { return a.c.Model }

// Describe names the provider and the configured model.
func (a *Adapter) Describe() agent.Info { return agent.Info{Provider: a.c.Provider, Model: a.c.Model} }

// BaseURL returns the base URL requests go to.
func (a *Adapter) BaseURL() string { return a.baseURL }

// SupportsSchema reports whether the configured model has not rejected the
// schema parameter.
func (a *Adapter) SupportsSchema() bool { return !a.schemas.Rejected(a.c.Model) }

// Respond sends req and returns the whole reply.
func (a *Adapter) Respond(ctx context.Context, req agent.Request) (agent.Response, error) {
	return a.do(ctx, req, false, nil)
}

// RespondStream sends req for a streamed reply, calling onChunk (when not
// nil) with each text delta in order.
func (a *Adapter) RespondStream(ctx context.Context, req agent.Request, onChunk func(chunk string)) (agent.Response, error) {
	if onChunk == nil {
		onChunk = func(string) {}
	}
	return a.do(ctx, req, true, onChunk)
}

func (a *Adapter) do(ctx context.Context, req agent.Request, stream bool, onChunk func(string)) (agent.Response, error) {
	return a.c.DoSchema(ctx, req, &a.schemas, a.c.Model, func(schema bool) Exchange {
		return a.build(a.c, req, stream, schema)
	}, onChunk)
}

// CheckConfig reports what every adapter's Config.Validate refuses besides
// a missing key: a missing model, a base URL that is not an absolute
// http(s) URL, a negative max tokens. prefix starts each message
// ("anthropic: model required").
func CheckConfig(prefix, model, baseURL string, maxTokens int) error {
	if model == "" {
		return fmt.Errorf("%s: model required", prefix)
	}
	if !ValidBaseURL(baseURL) {
		return fmt.Errorf("%s: base URL %q: want an absolute http or https URL", prefix, baseURL)
	}
	if maxTokens < 0 {
		return fmt.Errorf("%s: max tokens %d: want >= 0", prefix, maxTokens)
	}
	return nil
}

// IsNull reports whether raw is absent or JSON null.
func IsNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// Decode unmarshals data, a whole reply or one stream event (what names it
// in the error: "reply", "stream event"), into v; a failure is Invalid.
func Decode(provider string, status int, what string, data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return Invalid(provider, status, "decode %s: %v", what, err)
	}
	return nil
}

// Embedded maps the error object raw a provider embeds in a 2xx reply or
// an event (OpenRouter, Gemini) to an error, at the status its code names
// or else fallback (CodeStatus); nil when raw is absent or null.
func (c *Client) Embedded(raw json.RawMessage, fallback int) error {
	if IsNull(raw) {
		return nil
	}
	return c.EmbeddedError(CodeStatus(raw, fallback), raw)
}

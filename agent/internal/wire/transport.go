package wire

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/pricing"
)

// Client is the transport an adapter shares between its calls: it sends a
// provider request, reports rate-limit headers, maps failures to
// *agent.ProviderError, reads whole or streamed replies and prices them.
// What differs between providers (the request body, the URL and headers,
// the reply and event shapes, provider-specific error rules) comes in with
// each [Exchange] and its [Decoder]. Adapters never retry: retries belong
// to agent.Retry, which reads the Retry-After hint StatusError puts in the
// error. A Client is safe for concurrent use once built.
type Client struct {
	// Provider names the provider in responses and errors.
	Provider string
	// Package prefixes the adapter's own errors ("anthropic: encode
	// request: …").
	Package string
	// Model is the configured model: the Response's model unless the
	// reply names one, and the first key of the price lookup.
	Model      string
	HTTPClient *http.Client
	// Pricing prices the replies; nil prices nothing.
	Pricing pricing.Table
	// OnQuota, when set, receives the remaining-requests headers of every
	// reply that carries them (QuotaHeaders).
	OnQuota func(remaining int, reset time.Time)
	// Now dates Retry-After and rate-limit resets.
	Now func() time.Time
	// Secret, when set, is redacted from transport errors, whose messages
	// quote the URL (an API key sent as a query parameter).
	Secret string
	// StatusError maps a non-2xx reply (or an error embedded in a 2xx
	// reply, with h nil) to an error; nil means the common mapping,
	// StatusError of ParseErrorBody(body).
	StatusError func(status int, h http.Header, body []byte, now time.Time) error
}

// Framing is how a streamed reply is cut into events.
type Framing int

const (
	// SSE is text/event-stream: "event:" and "data:" lines, events
	// separated by a blank line.
	SSE Framing = iota
	// NDJSON is one JSON value per line (Ollama's native API); each line
	// is an event without a name.
	NDJSON
)

// Exchange is one call in the provider's wire shapes.
type Exchange struct {
	// URL is the endpoint of this call.
	URL string
	// Header holds the provider's headers (credentials, versions);
	// Content-Type and Accept are set by Do.
	Header http.Header
	// Body is the request, encoded as JSON.
	Body any
	// Stream asks for a streamed reply, read with Framing.
	Stream  bool
	Framing Framing
	// Decoder reads the reply. Required.
	Decoder Decoder
}

// Reply is what a Decoder has read of a reply so far.
type Reply struct {
	// Model is the model the provider says answered; "" keeps
	// Client.Model.
	Model string
	// Usage is the call's token usage as the provider reported it.
	Usage agent.Usage
	// FinishReason is why the model stopped, as the provider says it
	// (agent.Response.FinishReason); "" when it does not.
	FinishReason string
}

// Decoder reads one call's successful (2xx) reply in the provider's
// shapes. Do makes its calls from one goroutine, in order, so a Decoder
// may keep state between events.
type Decoder interface {
	// Reply decodes a whole non-streaming reply and returns its text; an
	// unusable reply is an error (Invalid, or the provider's embedded
	// error).
	Reply(data []byte, status int, r *Reply) (text string, err error)
	// Event decodes one event of a streamed reply: name is the SSE event
	// name ("" without one), delta the text it adds, and end reports the
	// provider's terminator (after which nothing more is read).
	Event(name string, data []byte, status int, r *Reply) (delta string, end bool, err error)
	// Finish is called once the stream is over, at its terminator (eof
	// false) or when the body ends without one (eof true), with the whole
	// streamed text; it returns the error of an incomplete or empty stream
	// (Truncated for one cut short), or nil.
	Finish(text string, eof bool, status int, r *Reply) error
}

// Do sends ex and returns the provider's answer: a Response with Text,
// Model, Usage, CostUSD, Provider and Attempts 1, or a *agent.ProviderError.
// With ex.Stream each text delta goes to onChunk (which must not be nil),
// in order; a stream that breaks or ends before its terminator fails with
// kind server, never with a truncated reply.
func (c *Client) Do(ctx context.Context, ex Exchange, onChunk func(string)) (agent.Response, error) {
	body, err := json.Marshal(ex.Body)
	if err != nil {
		return agent.Response{}, fmt.Errorf("%s: encode request: %w", c.Package, err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, ex.URL, bytes.NewReader(body))
	if err != nil {
		return agent.Response{}, fmt.Errorf("%s: build request: %w", c.Package, c.redact(err))
	}
	for k, vs := range ex.Header {
		hreq.Header[k] = vs
	}
	hreq.Header.Set("Content-Type", "application/json")
	switch {
	case !ex.Stream:
		hreq.Header.Set("Accept", "application/json")
	case ex.Framing == NDJSON:
		hreq.Header.Set("Accept", "application/x-ndjson")
	default:
		hreq.Header.Set("Accept", "text/event-stream")
	}
	resp, err := c.HTTPClient.Do(hreq)
	if err != nil {
		return agent.Response{}, ConnError(ctx, c.Provider, c.redact(err))
	}
	defer resp.Body.Close()
	now := c.Now()
	if c.OnQuota != nil {
		if n, reset, ok := QuotaHeaders(resp.Header, now); ok {
			c.OnQuota(n, reset)
		}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		data, err := ReadAll(resp.Body, MaxErrorBody)
		if err != nil && !errors.Is(err, ErrTooLarge) && ctx.Err() != nil {
			return agent.Response{}, ConnError(ctx, c.Provider, err)
		}
		return agent.Response{}, c.statusError(resp.StatusCode, resp.Header, data, now)
	}
	var r Reply
	var text string
	if ex.Stream {
		text, err = c.stream(ctx, resp, ex, onChunk, &r)
	} else {
		text, err = c.reply(ctx, resp, ex.Decoder, &r)
	}
	if err != nil {
		return agent.Response{}, err
	}
	out := agent.Response{Text: text, Provider: c.Provider, Model: c.Model, Usage: r.Usage, Attempts: 1, FinishReason: r.FinishReason}
	if r.Model != "" {
		out.Model = r.Model
	}
	out.CostUSD = c.cost(out.Model, out.Usage)
	return out, nil
}

// EmbeddedError maps an error object a provider sends inside a 2xx reply
// or a stream to an error, through Client.StatusError: status is the one
// the object stands for.
func (c *Client) EmbeddedError(status int, raw json.RawMessage) error {
	return c.statusError(status, nil, errorBody(raw), c.Now())
}

// errorBody is the error body {"error": raw} of an embedded error object.
func errorBody(raw json.RawMessage) []byte {
	if len(raw) == 0 {
		raw = json.RawMessage("null")
	}
	return append(append([]byte(`{"error":`), raw...), '}')
}

// ParseErrorObject is ParseErrorBody of an embedded error object.
func ParseErrorObject(raw json.RawMessage) ErrorInfo {
	return ParseErrorBody(errorBody(raw))
}

// CodeStatus returns the numeric code of an embedded error object when it
// is a 4xx or 5xx status, else fallback.
func CodeStatus(raw json.RawMessage, fallback int) int {
	if len(raw) == 0 {
		return fallback
	}
	status := ParseErrorObject(raw).Code
	if status < 400 || status > 599 {
		return fallback
	}
	return status
}

func (c *Client) statusError(status int, h http.Header, body []byte, now time.Time) error {
	if c.StatusError != nil {
		return c.StatusError(status, h, body, now)
	}
	return StatusError(c.Provider, status, h, ParseErrorBody(body), now)
}

// cost prices u at the configured model, else at the model the reply named.
func (c *Client) cost(replyModel string, u agent.Usage) float64 {
	if cost, ok := c.Pricing.Cost(c.Model, u); ok {
		return cost
	}
	cost, _ := c.Pricing.Cost(replyModel, u)
	return cost
}

func (c *Client) reply(ctx context.Context, resp *http.Response, d Decoder, r *Reply) (string, error) {
	data, err := ReadAll(resp.Body, MaxBody)
	if err != nil {
		return "", ReadError(ctx, c.Provider, resp.StatusCode, err)
	}
	return d.Reply(data, resp.StatusCode, r)
}

func (c *Client) stream(ctx context.Context, resp *http.Response, ex Exchange, onChunk func(string), r *Reply) (string, error) {
	var next func() (string, []byte, error)
	if ex.Framing == NDJSON {
		next = NewNDJSONReader(resp.Body).Next
	} else {
		next = NewSSEReader(resp.Body).Next
	}
	var text strings.Builder
	for {
		name, data, err := next()
		if errors.Is(err, io.EOF) {
			return text.String(), ex.Decoder.Finish(text.String(), true, resp.StatusCode, r)
		}
		if err != nil {
			return "", ReadError(ctx, c.Provider, resp.StatusCode, err)
		}
		delta, end, err := ex.Decoder.Event(name, data, resp.StatusCode, r)
		if err != nil {
			return "", err
		}
		if delta != "" {
			text.WriteString(delta)
			onChunk(delta)
		}
		if end {
			return text.String(), ex.Decoder.Finish(text.String(), false, resp.StatusCode, r)
		}
	}
}

// redact removes Client.Secret from the URL a transport error quotes.
func (c *Client) redact(err error) error {
	var ue *url.Error
	if c.Secret == "" || !errors.As(err, &ue) || !strings.Contains(ue.URL, url.QueryEscape(c.Secret)) {
		return err
	}
	return &url.Error{Op: ue.Op, URL: strings.ReplaceAll(ue.URL, url.QueryEscape(c.Secret), "REDACTED"), Err: ue.Err}
}

// NDJSONReader splits a newline-delimited JSON body into events.
type NDJSONReader struct {
	sc *bufio.Scanner
}

// NewNDJSONReader reads r, at most MaxStream bytes and MaxLine per line.
func NewNDJSONReader(r io.Reader) *NDJSONReader {
	return &NDJSONReader{sc: newScanner(r)}
}

// Next returns the next non-blank line as an event without a name; io.EOF
// when the body ends cleanly, the read error when it breaks.
func (r *NDJSONReader) Next() (name string, data []byte, err error) {
	for r.sc.Scan() {
		line := bytes.TrimSpace(r.sc.Bytes())
		if len(line) > 0 {
			return "", line, nil
		}
	}
	return "", nil, scanEnd(r.sc)
}

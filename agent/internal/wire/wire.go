// Package wire holds the transport shared by the provider adapters
// (openai, anthropic, gemini), so that each adapter keeps only its wire
// shapes. [Client.Do] sends one [Exchange] (URL, headers, JSON body) and
// reads the reply, whole or streamed (server-sent events or NDJSON), through
// the adapter's [Decoder]; it reports rate-limit headers, maps failures to
// *agent.ProviderError (Retry-After hints included, for agent.Retry) and
// prices the reply. The helpers below it (body caps, SSE, error bodies,
// status → kind mapping) are what Do is made of. [Adapter] is the part of
// an adapter's Agent every provider shares, embedded in it: Provider,
// Model, Describe, BaseURL, and Respond and RespondStream over Do with the
// schema-parameter fallback; CheckConfig is the Config checks they share.
// Adapters may not import one another, so what they share lives here,
// below them.
package wire

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aragora/aragora/agent"
)

// Limits on what is read from a provider.
const (
	MaxBody      = 8 << 20  // a non-streaming reply
	MaxErrorBody = 64 << 10 // an error reply
	MaxStream    = 32 << 20 // a whole event stream
	MaxLine      = 4 << 20  // one line of an event stream
	MaxMessage   = 512      // bytes of a non-JSON error body kept in the error message
)

// ErrTooLarge reports a reply above its cap.
var ErrTooLarge = errors.New("reply too large")

// CappedReader reads at most n bytes from r, then fails with ErrTooLarge.
type CappedReader struct {
	R io.Reader
	N int64
}

// Read reads from the underlying reader until the cap is reached.
func (c *CappedReader) Read(p []byte) (int, error) {
	if c.N <= 0 {
		return 0, ErrTooLarge
	}
	if int64(len(p)) > c.N {
		p = p[:c.N]
	}
	n, err := c.R.Read(p)
	c.N -= int64(n)
	return n, err
}

// ConnError reports a failure to reach the provider or to read its reply
// (StatusCode 0, kind server). The context's error, when it is done, is kept
// in the chain, so an expired deadline is kind timeout and a cancellation
// kind cancelled; a transport timeout is reported as context.DeadlineExceeded.
func ConnError(ctx context.Context, provider string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		if !errors.Is(err, cerr) {
			err = fmt.Errorf("%w (%w)", cerr, err)
		}
	} else if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() && !errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%w (%w)", context.DeadlineExceeded, err)
	}
	return &agent.ProviderError{Provider: provider, Err: err}
}

// ReadError classifies an error met while reading a reply body: a reply
// over its cap is Invalid, anything else a connection failure.
func ReadError(ctx context.Context, provider string, status int, err error) error {
	if errors.Is(err, ErrTooLarge) {
		return Invalid(provider, status, "%v", err)
	}
	return ConnError(ctx, provider, fmt.Errorf("read reply: %w", err))
}

// Invalid reports an unusable reply (kind invalid_response).
func Invalid(provider string, status int, format string, args ...any) error {
	return &agent.ProviderError{Provider: provider, StatusCode: status,
		Err: fmt.Errorf("%w: %s", agent.ErrInvalidResponse, fmt.Sprintf(format, args...))}
}

// Truncated reports an event stream that ended before its terminator: the
// connection was lost, so it is kind server like any dropped connection.
func Truncated(provider string) error {
	return &agent.ProviderError{Provider: provider, Err: io.ErrUnexpectedEOF}
}

// ReadAll reads a reply body up to limit bytes.
func ReadAll(r io.Reader, limit int64) ([]byte, error) {
	return io.ReadAll(&CappedReader{R: r, N: limit})
}

// ErrorInfo is what the common error bodies carry: OpenAI-style
// {"error":{"message","type","code"}}, Anthropic {"type":"error","error":{"type","message"}},
// Gemini {"error":{"code","message","status"}}, or {"error":"text"}.
type ErrorInfo struct {
	Message string
	Type    string // type, status or string code, e.g. "insufficient_quota", "overloaded_error", "RESOURCE_EXHAUSTED"
	Code    int    // numeric code, when given
	Raw     json.RawMessage
}

// ParseErrorBody extracts ErrorInfo from an error body. A body that is not
// JSON becomes the message, whitespace collapsed and cut to MaxMessage bytes.
func ParseErrorBody(body []byte) ErrorInfo {
	var env struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return ErrorInfo{Message: Snippet(body)}
	}
	info := ErrorInfo{Raw: env.Error, Message: env.Message}
	var text string
	if json.Unmarshal(env.Error, &text) == nil && text != "" {
		info.Message = text
		return info
	}
	var obj struct {
		Message string          `json:"message"`
		Type    string          `json:"type"`
		Status  string          `json:"status"`
		Code    json.RawMessage `json:"code"`
	}
	if json.Unmarshal(env.Error, &obj) == nil {
		if obj.Message != "" {
			info.Message = obj.Message
		}
		info.Type = obj.Type
		if info.Type == "" {
			info.Type = obj.Status
		}
		var s string
		if json.Unmarshal(obj.Code, &s) == nil && s != "" && s != info.Type {
			if info.Type == "" {
				info.Type = s
			} else {
				info.Type += "/" + s
			}
		}
		var n int
		if json.Unmarshal(obj.Code, &n) == nil {
			info.Code = n
		}
	}
	if info.Message == "" && len(env.Detail) > 0 {
		info.Message = Snippet(env.Detail)
	}
	if info.Message == "" {
		info.Message = Snippet(body)
	}
	return info
}

// text renders the message with its type, e.g. "insufficient_quota: You exceeded …".
func (e ErrorInfo) Text() string {
	switch {
	case e.Type == "":
		return e.Message
	case e.Message == "":
		return e.Type
	}
	return e.Type + ": " + e.Message
}

func Snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > MaxMessage {
		s = strings.ToValidUTF8(s[:MaxMessage], "") + "…"
	}
	return s
}

// MentionsQuota reports whether an error text speaks of quota or billing.
func MentionsQuota(s string) bool {
	s = strings.ToLower(s)
	for _, w := range []string{"quota", "billing", "credit", "insufficient_balance", "payment"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// StatusError maps a non-2xx reply to a *agent.ProviderError: 402, or 429
// citing quota or billing → ErrQuotaExhausted; other 429 → ErrRateLimited;
// 401/403 → ErrAuth; anything else keeps its status (5xx is kind server,
// other 4xx kind other).
func StatusError(provider string, status int, h http.Header, info ErrorInfo, now time.Time) *agent.ProviderError {
	msg := info.Text()
	if msg == "" {
		msg = http.StatusText(status)
	}
	pe := &agent.ProviderError{Provider: provider, StatusCode: status, RetryAfter: RetryAfter(h, now)}
	switch {
	case status == http.StatusPaymentRequired, status == http.StatusTooManyRequests && MentionsQuota(msg):
		pe.Err = fmt.Errorf("%w: %s", agent.ErrQuotaExhausted, msg)
	case status == http.StatusTooManyRequests:
		pe.Err = fmt.Errorf("%w: %s", agent.ErrRateLimited, msg)
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		pe.Err = fmt.Errorf("%w: %s", agent.ErrAuth, msg)
	default:
		pe.Err = errors.New(msg)
	}
	return pe
}

// RetryAfter reads the provider's retry hint: retry-after-ms (OpenAI), or
// Retry-After in seconds or as an HTTP date. Negative or absurd values (over
// a day) are ignored.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 && ms < 864e5 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s > 0 && s < 86400 {
			return time.Duration(s * float64(time.Second))
		}
		return 0
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 && d < 24*time.Hour {
			return d
		}
	}
	return 0
}

// QuotaHeaders reads the remaining-requests rate-limit headers, if any:
// OpenAI-style x-ratelimit-remaining-requests with x-ratelimit-reset-requests
// ("6m0s"), Anthropic anthropic-ratelimit-requests-remaining with
// anthropic-ratelimit-requests-reset (RFC 3339), or OpenRouter-style
// x-ratelimit-remaining with x-ratelimit-reset (Unix time, s or ms). reset is
// zero when not given.
func QuotaHeaders(h http.Header, now time.Time) (remaining int, reset time.Time, ok bool) {
	pairs := []struct{ remaining, reset string }{
		{"X-Ratelimit-Remaining-Requests", "X-Ratelimit-Reset-Requests"},
		{"Anthropic-Ratelimit-Requests-Remaining", "Anthropic-Ratelimit-Requests-Reset"},
		{"X-Ratelimit-Remaining", "X-Ratelimit-Reset"},
	}
	for _, p := range pairs {
		v := strings.TrimSpace(h.Get(p.remaining))
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			continue
		}
		return n, ParseReset(strings.TrimSpace(h.Get(p.reset)), now), true
	}
	return 0, time.Time{}, false
}

func ParseReset(v string, now time.Time) time.Time {
	if v == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(d)
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
		if n > 1e12 {
			return time.UnixMilli(n)
		}
		return time.Unix(n, 0)
	}
	return time.Time{}
}

// SSEReader splits a text/event-stream body into events.
type SSEReader struct {
	sc *bufio.Scanner
}

func NewSSEReader(r io.Reader) *SSEReader {
	return &SSEReader{sc: newScanner(r)}
}

// newScanner reads lines of r: at most MaxStream bytes, MaxLine per line.
func newScanner(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(&CappedReader{R: r, N: MaxStream})
	sc.Buffer(make([]byte, 0, 64<<10), MaxLine)
	return sc
}

// scanEnd is the error that ends a scan: io.EOF when the body ended
// cleanly, ErrTooLarge for a line over MaxLine, else the read error.
func scanEnd(sc *bufio.Scanner) error {
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("%w: %w", ErrTooLarge, err)
		}
		return err
	}
	return io.EOF
}

// next returns the next event's name ("" when the event has no event:
// field) and data (data: lines joined by "\n"). It returns io.EOF when the
// stream ends cleanly, and the read error when it breaks. Comments and
// events without data are skipped; an event cut off by the end of the stream
// is dropped, as the SSE specification requires.
func (r *SSEReader) Next() (name string, data []byte, err error) {
	hasData := false
	for r.sc.Scan() {
		line := r.sc.Bytes()
		if len(line) == 0 {
			if hasData {
				return name, data, nil
			}
			name = ""
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			name = string(value)
		case "data":
			if hasData {
				data = append(data, '\n')
			}
			data = append(data, value...)
			hasData = true
		}
	}
	return "", nil, scanEnd(r.sc)
}

// ValidBaseURL reports whether raw is an absolute http or https URL with a
// host: the rule every provider base URL (and *_BASE_URL variable) follows.
func ValidBaseURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

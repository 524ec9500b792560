package anthropic

// This file holds the HTTP plumbing shared, in identical copies, by the
// provider adapters (openai, anthropic, gemini): body caps, server-sent
// events, Retry-After, rate-limit headers and the mapping of failures to
// *agent.ProviderError. Adapters may not import one another (CONVENTIONS.md
// §3); the copies differ only in their package clause.

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
	"strconv"
	"strings"
	"time"

	"github.com/aragora/aragora/agent"
)

// Limits on what is read from a provider.
const (
	maxBody      = 8 << 20  // a non-streaming reply
	maxErrorBody = 64 << 10 // an error reply
	maxStream    = 32 << 20 // a whole event stream
	maxLine      = 4 << 20  // one line of an event stream
	maxMessage   = 512      // bytes of a non-JSON error body kept in the error message
)

// errTooLarge reports a reply above its cap.
var errTooLarge = errors.New("reply too large")

// cappedReader reads at most n bytes from r, then fails with errTooLarge.
type cappedReader struct {
	r io.Reader
	n int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	return n, err
}

// connError reports a failure to reach the provider or to read its reply
// (StatusCode 0, kind server). The context's error, when it is done, is kept
// in the chain, so an expired deadline is kind timeout and a cancellation
// kind cancelled; a transport timeout is reported as context.DeadlineExceeded.
func connError(ctx context.Context, provider string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		if !errors.Is(err, cerr) {
			err = fmt.Errorf("%w (%w)", cerr, err)
		}
	} else if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() && !errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%w (%w)", context.DeadlineExceeded, err)
	}
	return &agent.ProviderError{Provider: provider, Err: err}
}

// readError classifies an error met while reading a reply body: a reply
// over its cap is invalid, anything else a connection failure.
func readError(ctx context.Context, provider string, status int, err error) error {
	if errors.Is(err, errTooLarge) {
		return invalid(provider, status, "%v", err)
	}
	return connError(ctx, provider, fmt.Errorf("read reply: %w", err))
}

// invalid reports an unusable reply (kind invalid_response).
func invalid(provider string, status int, format string, args ...any) error {
	return &agent.ProviderError{Provider: provider, StatusCode: status,
		Err: fmt.Errorf("%w: %s", agent.ErrInvalidResponse, fmt.Sprintf(format, args...))}
}

// truncated reports an event stream that ended before its terminator: the
// connection was lost, so it is kind server like any dropped connection.
func truncated(provider string) error {
	return &agent.ProviderError{Provider: provider, Err: io.ErrUnexpectedEOF}
}

// readAll reads a reply body up to limit bytes.
func readAll(r io.Reader, limit int64) ([]byte, error) {
	return io.ReadAll(&cappedReader{r: r, n: limit})
}

// errorInfo is what the common error bodies carry: OpenAI-style
// {"error":{"message","type","code"}}, Anthropic {"type":"error","error":{"type","message"}},
// Gemini {"error":{"code","message","status"}}, or {"error":"text"}.
type errorInfo struct {
	Message string
	Type    string // type, status or string code, e.g. "insufficient_quota", "overloaded_error", "RESOURCE_EXHAUSTED"
	Code    int    // numeric code, when given
	Raw     json.RawMessage
}

// parseErrorBody extracts errorInfo from an error body. A body that is not
// JSON becomes the message, whitespace collapsed and cut to maxMessage bytes.
func parseErrorBody(body []byte) errorInfo {
	var env struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return errorInfo{Message: snippet(body)}
	}
	info := errorInfo{Raw: env.Error, Message: env.Message}
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
		info.Message = snippet(env.Detail)
	}
	if info.Message == "" {
		info.Message = snippet(body)
	}
	return info
}

// text renders the message with its type, e.g. "insufficient_quota: You exceeded …".
func (e errorInfo) text() string {
	switch {
	case e.Type == "":
		return e.Message
	case e.Message == "":
		return e.Type
	}
	return e.Type + ": " + e.Message
}

func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > maxMessage {
		s = strings.ToValidUTF8(s[:maxMessage], "") + "…"
	}
	return s
}

// mentionsQuota reports whether an error text speaks of quota or billing.
func mentionsQuota(s string) bool {
	s = strings.ToLower(s)
	for _, w := range []string{"quota", "billing", "credit", "insufficient_balance", "payment"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// statusError maps a non-2xx reply to a *agent.ProviderError: 402, or 429
// citing quota or billing → ErrQuotaExhausted; other 429 → ErrRateLimited;
// 401/403 → ErrAuth; anything else keeps its status (5xx is kind server,
// other 4xx kind other).
func statusError(provider string, status int, h http.Header, info errorInfo, now time.Time) *agent.ProviderError {
	msg := info.text()
	if msg == "" {
		msg = http.StatusText(status)
	}
	pe := &agent.ProviderError{Provider: provider, StatusCode: status, RetryAfter: retryAfter(h, now)}
	switch {
	case status == http.StatusPaymentRequired, status == http.StatusTooManyRequests && mentionsQuota(msg):
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

// retryAfter reads the provider's retry hint: retry-after-ms (OpenAI), or
// Retry-After in seconds or as an HTTP date. Negative or absurd values (over
// a day) are ignored.
func retryAfter(h http.Header, now time.Time) time.Duration {
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

// quotaHeaders reads the remaining-requests rate-limit headers, if any:
// OpenAI-style x-ratelimit-remaining-requests with x-ratelimit-reset-requests
// ("6m0s"), Anthropic anthropic-ratelimit-requests-remaining with
// anthropic-ratelimit-requests-reset (RFC 3339), or OpenRouter-style
// x-ratelimit-remaining with x-ratelimit-reset (Unix time, s or ms). reset is
// zero when not given.
func quotaHeaders(h http.Header, now time.Time) (remaining int, reset time.Time, ok bool) {
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
		return n, parseReset(strings.TrimSpace(h.Get(p.reset)), now), true
	}
	return 0, time.Time{}, false
}

func parseReset(v string, now time.Time) time.Time {
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

// sseReader splits a text/event-stream body into events.
type sseReader struct {
	sc *bufio.Scanner
}

func newSSEReader(r io.Reader) *sseReader {
	sc := bufio.NewScanner(&cappedReader{r: r, n: maxStream})
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	return &sseReader{sc: sc}
}

// next returns the next event's name ("" when the event has no event:
// field) and data (data: lines joined by "\n"). It returns io.EOF when the
// stream ends cleanly, and the read error when it breaks. Comments and
// events without data are skipped; an event cut off by the end of the stream
// is dropped, as the SSE specification requires.
func (r *sseReader) next() (name string, data []byte, err error) {
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
	if err := r.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return "", nil, fmt.Errorf("%w: %w", errTooLarge, err)
		}
		return "", nil, err
	}
	return "", nil, io.EOF
}

package agent

import (
	"errors"
	"fmt"
	"time"
)

// KindError is an error that carries its [Kind], as built by the helpers
// below for agents that do not speak HTTP through a [*ProviderError]: a
// custom agent returns RateLimited(20*time.Second) and the middleware of
// this module treats it as it treats a provider's 429 with a Retry-After
// header. It implements [Kinder], and errors.Is matches the sentinel of its
// kind (ErrRateLimited, ErrQuotaExhausted, ErrAuth) as well as Err.
type KindError struct {
	Kind Kind
	// RetryAfter is the provider's hint: when to retry (rate_limited) or
	// when the quota resets (quota_exhausted); zero when unknown.
	RetryAfter time.Duration
	// Err is the underlying error; nil when the helper was given none.
	Err error
}

// AgentKind returns e.Kind.
func (e *KindError) AgentKind() Kind { return e.Kind }

// Error describes the error by its kind, then Err.
func (e *KindError) Error() string {
	msg := "agent: " + kindText(e.Kind)
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the sentinel of e's kind, when it has one, and Err.
func (e *KindError) Unwrap() []error {
	var out []error
	switch e.Kind {
	case KindRateLimited:
		out = append(out, ErrRateLimited)
	case KindQuotaExhausted:
		out = append(out, ErrQuotaExhausted)
	case KindAuth:
		out = append(out, ErrAuth)
	case KindInvalidResponse:
		out = append(out, ErrInvalidResponse)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

func kindText(k Kind) string {
	switch k {
	case KindRateLimited:
		return "rate limited"
	case KindQuotaExhausted:
		return "quota exhausted"
	case KindAuth:
		return "authentication failed"
	case KindServer:
		return "transient provider failure"
	case KindInvalidResponse:
		return "invalid response"
	}
	return string(k)
}

// retryable reports whether Retry retries a KindError: rate limits and
// transient failures, like a provider's 429 and 5xx.
func (e *KindError) retryable() bool {
	return e.Kind == KindRateLimited || e.Kind == KindServer || e.Kind == KindTimeout
}

// RateLimited reports that the provider refused the call for its rate
// limit (not its quota), and may be retried after retryAfter (0: no hint).
// Kind rate_limited: [Retry] retries it, waiting retryAfter plus up to
// 250 ms instead of its backoff; a circuit breaker counts it neither as a
// failure nor as a success.
func RateLimited(retryAfter time.Duration) error {
	return &KindError{Kind: KindRateLimited, RetryAfter: max(retryAfter, 0)}
}

// QuotaExhausted reports that the account behind the agent has no quota or
// credit left; err (may be nil) says more. Kind quota_exhausted: never
// retried; [FallbackMiddleware] hands the call to its fallback; [Stats]
// shows quota_remaining 0 for an hour, or until the reset time you give
// with [KindError.RetryAfter]:
//
//	return agent.Response{}, &agent.KindError{Kind: agent.KindQuotaExhausted, RetryAfter: time.Until(reset), Err: err}
func QuotaExhausted(err error) error {
	return &KindError{Kind: KindQuotaExhausted, Err: err}
}

// Transient reports a failure that may go away by itself: the provider was
// unreachable, overloaded, or answered with a server error. Kind server:
// [Retry] retries it with backoff, and a circuit breaker counts it as a
// failure (enough in a row open the circuit).
func Transient(err error) error {
	return &KindError{Kind: KindServer, Err: err}
}

// AuthFailed reports that the provider refused the agent's credential
// (kind auth): never retried; [FallbackMiddleware] hands the call to its
// fallback.
func AuthFailed(err error) error {
	return &KindError{Kind: KindAuth, Err: err}
}

// InvalidResponse reports a reply the agent cannot turn into an answer,
// such as a malformed payload (kind invalid_response): never retried. err
// may be nil.
func InvalidResponse(err error) error {
	return &KindError{Kind: KindInvalidResponse, Err: err}
}

// kindErrorOf returns the first *KindError in err's chain, or nil.
func kindErrorOf(err error) *KindError {
	var ke *KindError
	if errors.As(err, &ke) {
		return ke
	}
	return nil
}

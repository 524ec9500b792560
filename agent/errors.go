package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/aragora/aragora/internal/enum"
)

// Sentinel errors wrapped by *ProviderError (docs/agents.md#middleware).
var (
	// ErrRateLimited reports a provider 429 that is not about quota.
	ErrRateLimited = errors.New("agent: rate limited")
	// ErrQuotaExhausted reports a 402, or a 429 citing quota or billing.
	ErrQuotaExhausted = errors.New("agent: quota exhausted")
	// ErrAuth reports a 401 or 403 from the provider.
	ErrAuth = errors.New("agent: authentication failed")
	// ErrInvalidResponse reports a reply that cannot be used: an empty
	// proposal, a vote with no readable choice, a malformed provider payload.
	ErrInvalidResponse = errors.New("agent: invalid response")
)

// ProviderError reports a non-success answer from a model provider, or a
// failure to reach it (StatusCode 0).
type ProviderError struct {
	Provider   string
	StatusCode int           // HTTP status; 0 when the provider was not reached
	RetryAfter time.Duration // zero if the provider gave no hint
	// Overloaded is set when the provider said it is overloaded (e.g. Anthropic 529).
	Overloaded bool
	Err        error
}

func (e *ProviderError) Error() string {
	if e.StatusCode == 0 {
		return fmt.Sprintf("agent: %s: %v", e.Provider, e.Err)
	}
	return fmt.Sprintf("agent: %s: status %d: %v", e.Provider, e.StatusCode, e.Err)
}

// Unwrap returns the underlying error.
func (e *ProviderError) Unwrap() error { return e.Err }

// Kind classifies an agent error. The values are the agent_error kinds of
// docs/events.md. Its text and JSON form is its name. [ParseKind] rejects
// an unknown name where a kind comes in; decoding does not, because kinds
// are read back from stored events and results that a newer version may
// have written.
type Kind string

// Error kinds.
const (
	KindTimeout         Kind = "timeout"
	KindRateLimited     Kind = "rate_limited"
	KindQuotaExhausted  Kind = "quota_exhausted"
	KindAuth            Kind = "auth"
	KindServer          Kind = "server"
	KindCircuitOpen     Kind = "circuit_open"
	KindInvalidResponse Kind = "invalid_response"
	KindCancelled       Kind = "cancelled"
	KindOther           Kind = "other"
)

// Kinds lists every Kind in a fixed order (for metrics and status tables).
var Kinds = []Kind{KindTimeout, KindRateLimited, KindQuotaExhausted, KindAuth, KindServer,
	KindCircuitOpen, KindInvalidResponse, KindCancelled, KindOther}

// ParseKind returns the Kind named s; an unknown name is an error.
func ParseKind(s string) (Kind, error) { return enum.Parse("agent: error kind", s, Kinds) }

func (k Kind) String() string { return string(k) }

// MarshalText returns k's name.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k), nil }

// Kinder is implemented by errors that know their kind, such as
// breaker.ErrOpen, so that agent never imports the packages that define them.
type Kinder interface {
	AgentKind() Kind
}

// KindOf classifies err; it returns "" for nil.
func KindOf(err error) Kind {
	var k Kinder
	var pe *ProviderError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &k):
		return k.AgentKind()
	case errors.Is(err, ErrQuotaExhausted):
		return KindQuotaExhausted
	case errors.Is(err, ErrRateLimited):
		return KindRateLimited
	case errors.Is(err, ErrAuth):
		return KindAuth
	case errors.Is(err, ErrInvalidResponse):
		return KindInvalidResponse
	case errors.Is(err, context.DeadlineExceeded):
		return KindTimeout
	case errors.Is(err, context.Canceled):
		return KindCancelled
	case errors.As(err, &pe):
		return kindForStatus(pe)
	case isNetError(err), errors.Is(err, io.ErrUnexpectedEOF):
		return KindServer
	}
	return KindOther
}

func kindForStatus(pe *ProviderError) Kind {
	switch s := pe.StatusCode; {
	case s == 402:
		return KindQuotaExhausted
	case s == 429:
		if mentionsQuota(pe.Err) {
			return KindQuotaExhausted
		}
		return KindRateLimited
	case s == 401 || s == 403:
		return KindAuth
	case s >= 500 || s == 0:
		return KindServer
	case s == 408:
		return KindTimeout
	}
	return KindOther
}

func mentionsQuota(err error) bool {
	if err == nil {
		return false
	}
	m := strings.ToLower(err.Error())
	return strings.Contains(m, "quota") || strings.Contains(m, "billing") || strings.Contains(m, "insufficient_quota") || strings.Contains(m, "credit")
}

func isNetError(err error) bool {
	var ne net.Error
	var oe *net.OpError
	var de *net.DNSError
	return errors.As(err, &ne) || errors.As(err, &oe) || errors.As(err, &de)
}

// StatusCode returns the HTTP status of the *ProviderError in err's chain, or 0.
func StatusCode(err error) int {
	var pe *ProviderError
	if errors.As(err, &pe) {
		return pe.StatusCode
	}
	return 0
}

// Retryable reports whether a failed call may be retried (docs/agents.md#middleware):
// connection errors, attempt timeouts, 408, 409, 425, 429 (not quota), 500,
// 502, 503, 504, 529 and "overloaded" errors. Never other 4xx, quota
// exhaustion, an open circuit or a cancelled context.
func Retryable(err error) bool {
	switch KindOf(err) {
	case KindQuotaExhausted, KindAuth, KindCircuitOpen, KindCancelled, KindInvalidResponse:
		return false
	}
	if ke := kindErrorOf(err); ke != nil {
		return ke.retryable()
	}
	var pe *ProviderError
	if errors.As(err, &pe) {
		if pe.Overloaded {
			return true
		}
		switch pe.StatusCode {
		case 0, 408, 409, 425, 429, 500, 502, 503, 504, 529:
			return true
		}
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || isNetError(err) {
		return true
	}
	return false
}

// RetryAfter returns the provider's Retry-After hint in err's chain (of a
// *ProviderError or a *KindError), or 0.
func RetryAfter(err error) time.Duration {
	var pe *ProviderError
	if errors.As(err, &pe) {
		return pe.RetryAfter
	}
	if ke := kindErrorOf(err); ke != nil {
		return ke.RetryAfter
	}
	return 0
}

package webhook

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Retry schedule constants (docs/webhooks.md): the k-th retry waits
// min(RetryBase × 4^(k−1), RetryCap) ±RetryJitter.
const (
	RetryBase   = 5 * time.Second
	RetryCap    = 6 * time.Hour
	RetryJitter = 0.2
)

// Backoff returns the unjittered wait before retry k (k >= 1):
// min(5 s × 4^(k−1), 6 h). k < 1 counts as 1.
func Backoff(k int) time.Duration {
	d := RetryBase
	for i := 1; i < k; i++ {
		d *= 4
		if d >= RetryCap {
			return RetryCap
		}
	}
	return d
}

// RetryDelay returns the wait before retry k: Backoff(k) scaled by
// 1 + RetryJitter × (2u − 1) for u in [0, 1) (so ±20 %, also around the
// 6 h cap), or the endpoint's Retry-After when that is longer, itself
// capped at RetryCap.
func RetryDelay(k int, u float64, retryAfter time.Duration) time.Duration {
	d := time.Duration(float64(Backoff(k)) * (1 + RetryJitter*(2*u-1)))
	return max(d, min(retryAfter, RetryCap))
}

// ParseRetryAfter reads a Retry-After header: delay-seconds or an
// HTTP-date (relative to now). It returns 0 when absent, invalid or in
// the past.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		switch {
		case n <= 0:
			return 0
		case n >= int64(RetryCap/time.Second):
			return RetryCap
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), RetryCap)
	}
	return 0
}

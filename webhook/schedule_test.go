package webhook_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/aragora/aragora/webhook"
)

func TestBackoff(t *testing.T) {
	want := []time.Duration{5 * time.Second, 20 * time.Second, 80 * time.Second, 320 * time.Second, 1280 * time.Second,
		5120 * time.Second, 20480 * time.Second, 6 * time.Hour, 6 * time.Hour}
	for i, w := range want {
		assert.Equal(t, w, webhook.Backoff(i+1), "retry %d", i+1)
	}
	assert.Equal(t, 5*time.Second, webhook.Backoff(0))
	assert.Equal(t, 6*time.Hour, webhook.Backoff(1000))
}

func TestRetryDelay(t *testing.T) {
	for k := 1; k <= 9; k++ {
		b := webhook.Backoff(k)
		lo, hi := webhook.RetryDelay(k, 0, 0), webhook.RetryDelay(k, 0.9999999, 0)
		assert.Equal(t, time.Duration(float64(b)*0.8), lo, "retry %d low", k)
		assert.LessOrEqual(t, hi, time.Duration(float64(b)*1.2), "retry %d high", k)
		assert.Greater(t, hi, time.Duration(float64(b)*1.19), "retry %d high", k)
		assert.Equal(t, b, webhook.RetryDelay(k, 0.5, 0), "retry %d middle", k)
	}
	assert.Equal(t, 2*time.Minute, webhook.RetryDelay(1, 0.5, 2*time.Minute), "Retry-After longer than the backoff wins")
	assert.Equal(t, 5*time.Second, webhook.RetryDelay(1, 0.5, time.Second), "a shorter Retry-After does not hurry the schedule")
	assert.Equal(t, 6*time.Hour, webhook.RetryDelay(1, 0.5, 48*time.Hour), "Retry-After is capped at 6 h")
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC)
	tests := map[string]time.Duration{
		"":               0,
		"120":            2 * time.Minute,
		" 7 ":            7 * time.Second,
		"0":              0,
		"-3":             0,
		"soon":           0,
		"99999999999999": 6 * time.Hour,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat):       0,
	}
	for in, want := range tests {
		assert.Equal(t, want, webhook.ParseRetryAfter(in, now), "%q", in)
	}
}

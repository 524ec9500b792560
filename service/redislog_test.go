package service

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRedisLoggerIsStructuredAndRateLimited: the Redis client's lines
// become JSON records, one per interval, counting the suppressed ones.
func TestRedisLoggerIsStructuredAndRateLimited(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := &redisLogger{log: slog.New(slog.NewJSONHandler(&buf, nil)), every: 10 * time.Second, now: func() time.Time { return now }}
	for i := range 55 { // 55 failed dials within 30 s
		l.Printf(context.Background(), "redis: %s: dial tcp 127.0.0.1:6379: connect: connection refused", "pool")
		if i%2 == 1 {
			now = now.Add(time.Second)
		}
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 3, "one record per 10 s over ~27 s")
	total := 0
	for i, ln := range lines {
		var rec struct {
			Msg        string `json:"msg"`
			Level      string `json:"level"`
			Detail     string `json:"detail"`
			Suppressed int    `json:"suppressed"`
		}
		require.NoError(t, json.Unmarshal([]byte(ln), &rec), ln)
		assert.Equal(t, "redis_client", rec.Msg)
		assert.Equal(t, "WARN", rec.Level)
		assert.Contains(t, rec.Detail, "connection refused")
		if i == 0 {
			assert.Zero(t, rec.Suppressed)
		}
		total += 1 + rec.Suppressed
	}
	assert.LessOrEqual(t, total, 55)
	assert.Greater(t, total, 40, "the records account for the lines they stand for")
}

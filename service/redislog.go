package service

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisLogEvery is the least interval between two records of the Redis
// client's own log: during an outage it reports every failed dial, which
// would flood the JSON log (docs/operations.md#logs).
const redisLogEvery = 10 * time.Second

// redisLogger routes the Redis client's log lines through slog (one
// structured WARN record redis_client), at most one per interval; the
// record says how many lines were suppressed since the previous one.
type redisLogger struct {
	log   *slog.Logger
	every time.Duration
	now   func() time.Time

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// Printf implements the go-redis logging interface.
func (l *redisLogger) Printf(_ context.Context, format string, v ...any) {
	l.mu.Lock()
	now := l.now()
	if !l.last.IsZero() && now.Sub(l.last) < l.every && !now.Before(l.last) {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	suppressed := l.suppressed
	l.last, l.suppressed = now, 0
	l.mu.Unlock()
	l.log.Warn("redis_client", "detail", fmt.Sprintf(format, v...), "suppressed", suppressed)
}

// redisLogOnce installs the process-wide Redis client logger once: the
// go-redis logger is a global, so the first service's logger serves all.
var redisLogOnce sync.Once

func setRedisLogger(log *slog.Logger) {
	redisLogOnce.Do(func() { redis.SetLogger(&redisLogger{log: log, every: redisLogEvery, now: time.Now}) })
}

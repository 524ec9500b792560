package agent

import (
	"context"
	"time"
)

// Timeout bounds each call to the wrapped agent by d, retries included when
// it sits outside Retry. A call cut short fails with an error wrapping
// context.DeadlineExceeded (kind timeout). A d of zero or less disables it.
// The orchestrator applies its own per-call limit (AgentTimeout), so Timeout
// is for agents used outside debates. It applies to every capability
// (streams and structural critiques, votes and judgements included), and
// the result keeps the wrapped agent's capabilities ([Wrap]).
func Timeout(d time.Duration) Middleware {
	return func(next Agent) Agent {
		if d <= 0 {
			return next
		}
		return Wrap(next, func(ctx context.Context, c Call) (Response, error) {
			ctx, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			return c.Next(ctx)
		})
	}
}

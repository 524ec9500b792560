package agent

import (
	"context"
	"time"
)

// Timeout bounds each call to the wrapped agent by d, retries included when
// it sits outside Retry. A call cut short fails with an error wrapping
// context.DeadlineExceeded (kind timeout). A d of zero or less disables it.
// The orchestrator applies its own per-call limit (AgentTimeout), so Timeout
// is for agents used outside debates. A Streamer stays a Streamer.
func Timeout(d time.Duration) Middleware {
	return func(next Agent) Agent {
		if d <= 0 {
			return next
		}
		return wrap(next, func(ctx context.Context, req Request, onChunk func(string)) (Response, error) {
			ctx, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			return invoke(ctx, next, req, onChunk)
		})
	}
}

// callFunc is one call through a middleware; onChunk is nil for a
// non-streaming call.
type callFunc func(ctx context.Context, req Request, onChunk func(string)) (Response, error)

// funcStreamer is the Streamer a middleware returns when it wraps one.
type funcStreamer struct {
	Func
	call callFunc
}

func (s funcStreamer) RespondStream(ctx context.Context, req Request, onChunk func(string)) (Response, error) {
	if onChunk == nil {
		onChunk = func(string) {}
	}
	return s.call(ctx, req, onChunk)
}

// wrap turns call into an Agent that is also a Streamer when inner is one,
// so that every middleware of this package preserves streaming.
func wrap(inner Agent, call callFunc) Agent {
	respond := Func(func(ctx context.Context, req Request) (Response, error) { return call(ctx, req, nil) })
	if _, ok := inner.(Streamer); ok {
		return funcStreamer{Func: respond, call: call}
	}
	return respond
}

// invoke calls a, streaming through onChunk when onChunk is set and a is a
// Streamer.
func invoke(ctx context.Context, a Agent, req Request, onChunk func(string)) (Response, error) {
	if onChunk != nil {
		if s, ok := a.(Streamer); ok {
			return s.RespondStream(ctx, req, onChunk)
		}
	}
	return a.Respond(ctx, req)
}

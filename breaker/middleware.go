package breaker

import (
	"context"

	"github.com/aragora/aragora/agent"
)

// Middleware puts name's circuit from reg in front of an agent: while the
// circuit is open, calls fail at once with an error wrapping ErrOpen. The
// circuit is looked up on every call, so a Reset takes effect at once. When
// the wrapped agent is an agent.Streamer, so is the result, and a streamed
// call counts as one call.
func Middleware(reg *Registry, name string) agent.Middleware {
	return func(next agent.Agent) agent.Agent {
		b := &breakerAgent{reg: reg, name: name, next: next}
		if s, ok := next.(agent.Streamer); ok {
			return &breakerStreamer{breakerAgent: b, next: s}
		}
		return b
	}
}

type breakerAgent struct {
	reg  *Registry
	name string
	next agent.Agent
}

func (b *breakerAgent) Respond(ctx context.Context, req agent.Request) (agent.Response, error) {
	var resp agent.Response
	err := b.reg.Get(b.name).Do(ctx, func(ctx context.Context) error {
		var err error
		resp, err = b.next.Respond(ctx, req)
		return err
	})
	return resp, err
}

type breakerStreamer struct {
	*breakerAgent
	next agent.Streamer
}

var _ agent.Streamer = (*breakerStreamer)(nil)

func (b *breakerStreamer) RespondStream(ctx context.Context, req agent.Request, onChunk func(string)) (agent.Response, error) {
	var resp agent.Response
	err := b.reg.Get(b.name).Do(ctx, func(ctx context.Context) error {
		var err error
		resp, err = b.next.RespondStream(ctx, req, onChunk)
		return err
	})
	return resp, err
}

package breaker

import (
	"context"

	"github.com/aragora/aragora/agent"
)

// Middleware puts name's circuit from reg in front of an agent: while the
// circuit is open, calls fail at once with an error wrapping ErrOpen. The
// circuit is looked up on every call, so a Reset takes effect at once.
// Every capability goes through the circuit (a streamed call counts as one
// call; structural critiques, votes and judgements count like any other),
// and the result keeps the wrapped agent's capabilities (agent.Wrap).
func Middleware(reg *Registry, name string) agent.Middleware {
	return func(next agent.Agent) agent.Agent {
		return agent.Wrap(next, func(ctx context.Context, c agent.Call) (agent.Response, error) {
			var resp agent.Response
			err := reg.Get(name).Do(ctx, func(ctx context.Context) error {
				var err error
				resp, err = c.Next(ctx)
				return err
			})
			return resp, err
		})
	}
}

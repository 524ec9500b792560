package demo_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/demo"
	"github.com/aragora/aragora/debate"
)

// recordedCall is one call of a recorded debate: the agent and a copy of
// its request.
type recordedCall struct {
	a   *demo.Agent
	req agent.Request
}

// recorder records the requests of a demo agent, copying what the engine
// may reuse (the prompt and the request's slices). It is agent.Immediate,
// as the agent it wraps: the engine makes its calls one after the other.
type recorder struct {
	*demo.Agent
	calls *[]recordedCall
}

func (r recorder) Respond(ctx context.Context, req agent.Request) (agent.Response, error) {
	c := req
	c.Prompt = strings.Clone(req.Prompt)
	c.Proposals = slices.Clone(req.Proposals)
	c.Critiques = slices.Clone(req.Critiques)
	c.Participants = slices.Clone(req.Participants)
	*r.calls = append(*r.calls, recordedCall{r.Agent, c})
	return r.Agent.Respond(ctx, req)
}

// peerCalls returns the calls of the peer benchmark's debate
// (docs/BENCHMARKS.md): 5 demo agents, styles supportive, critical and
// balanced cycling, 3 rounds, early stop off; 90 calls.
func peerCalls(b *testing.B) []recordedCall {
	b.Helper()
	var calls []recordedCall
	styles := []demo.Style{demo.StyleSupportive, demo.StyleCritical, demo.StyleBalanced}
	ps := make([]debate.Participant, 5)
	for i := range ps {
		name := fmt.Sprintf("demo-%c", 'a'+i)
		ps[i] = debate.Participant{Name: name, Agent: recorder{demo.New(name, styles[i%len(styles)], 42), &calls}}
	}
	o, err := debate.New(debate.Config{Rounds: 3, DisableEarlyStop: true}, ps...)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := o.Run(context.Background(), "Should we migrate the billing service to Postgres?"); err != nil {
		b.Fatal(err)
	}
	return calls
}

// BenchmarkRespond answers the recorded calls of the peer benchmark's
// debate, all of them (Debate) or those of one phase, one pass per
// iteration.
func BenchmarkRespond(b *testing.B) {
	calls := peerCalls(b)
	bench := func(calls []recordedCall) func(b *testing.B) {
		return func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				for i := range calls {
					if _, err := calls[i].a.Respond(ctx, calls[i].req); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
	}
	b.Run("Debate", bench(calls))
	for _, p := range []agent.Phase{agent.PhasePropose, agent.PhaseCritique, agent.PhaseRevise, agent.PhaseVote} {
		var of []recordedCall
		for _, c := range calls {
			if c.req.Phase == p {
				of = append(of, c)
			}
		}
		b.Run(string(p), bench(of))
	}
}

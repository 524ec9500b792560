package debate_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/debate"
)

// instant answers every call at once with a fixed, valid reply.
func instant(name, voteFor string) agent.Agent {
	proposal := "Proposal from " + name + ": adopt a staged migration with a 90-day pilot and rollback plan."
	vote := fmt.Sprintf(`{"choice":%q,"confidence":0.8,"reasoning":"clear"}`, voteFor)
	return agent.Func(func(_ context.Context, req agent.Request) (agent.Response, error) {
		switch req.Phase {
		case agent.PhaseCritique:
			return agent.Response{Text: `{"issues":["cost"],"suggestions":["pilot"],"severity":3,"reasoning":"ok"}`}, nil
		case agent.PhaseVote:
			return agent.Response{Text: vote}, nil
		}
		return agent.Response{Text: proposal}, nil
	})
}

func benchDebate(b *testing.B, n, rounds int) {
	var ps []debate.Participant
	for i := range n {
		name := fmt.Sprintf("agent%d", i)
		ps = append(ps, debate.Participant{Name: name, Agent: instant(name, "agent0")})
	}
	benchRun(b, rounds, ps)
}

// benchRun builds an orchestrator of ps with rounds (early stop off) and
// runs one debate per iteration.
func benchRun(b *testing.B, rounds int, ps []debate.Participant) {
	o, err := debate.New(debate.Config{Rounds: rounds, DisableEarlyStop: true}, ps...)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := o.Run(ctx, "Should we migrate the billing service to Postgres?"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDebate runs full debates with instant fake agents, so it
// measures the orchestrator alone.
func BenchmarkDebate(b *testing.B) {
	for _, c := range []struct{ n, rounds int }{{3, 3}, {5, 3}} {
		b.Run(fmt.Sprintf("agents=%d/rounds=%d", c.n, c.rounds), func(b *testing.B) { benchDebate(b, c.n, c.rounds) })
	}
}

// BenchmarkDemoDebate runs the peer benchmark's debate (docs/BENCHMARKS.md):
// 5 demo agents, styles supportive, critical and balanced cycling, 3
// rounds, early stop off.
func BenchmarkDemoDebate(b *testing.B) {
	benchRun(b, 3, demoParticipants(42,
		"demo-a:supportive", "demo-b:critical", "demo-c:balanced", "demo-d:supportive", "demo-e:critical"))
}

package agenttest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/agenttest"
)

func ExampleScripted() {
	a := agenttest.Scripted(agenttest.Script{
		Proposals: []string{"Use Postgres.", "Use Postgres with read replicas."},
		Votes:     []string{"b"},
		Usage:     agent.Usage{InputTokens: 120, OutputTokens: 30},
		// Fail the vote of round 2 with a provider 503.
		Fail: func(req agent.Request) error {
			if req.Phase == agent.PhaseVote && req.Round == 2 {
				return agenttest.ServerError("openai", 503)
			}
			return nil
		},
	})
	ctx := context.Background()

	resp, _ := a.Respond(ctx, agent.Request{Participant: "a", Phase: agent.PhaseRevise, Round: 2})
	fmt.Println(resp.Text, resp.Usage.Total())

	resp, _ = a.Respond(ctx, agent.Request{Participant: "a", Phase: agent.PhaseVote, Round: 1})
	fmt.Println(resp.Text)

	_, err := a.Respond(ctx, agent.Request{Participant: "a", Phase: agent.PhaseVote, Round: 2})
	fmt.Println(agent.KindOf(err), len(a.Calls()))
	// Output:
	// Use Postgres with read replicas. 150
	// {"choice":"b","confidence":0.8,"reasoning":"Scripted vote."}
	// server 3
}

func ExampleSay() {
	resp, _ := agenttest.Say("I back ada: use Postgres.").Respond(context.Background(), agent.Request{Phase: agent.PhaseVote})
	fmt.Println(resp.Text)
	// Output: I back ada: use Postgres.
}

func ExampleFlaky() {
	// Fails once with a rate limit, then answers: what a retry middleware sees.
	a := agenttest.Flaky(1, agenttest.RateLimitError("anthropic", 0), agenttest.Say("done"))
	_, err := a.Respond(context.Background(), agent.Request{})
	fmt.Println(agent.KindOf(err), errors.Is(err, agent.ErrRateLimited))
	resp, _ := a.Respond(context.Background(), agent.Request{})
	fmt.Println(resp.Text)
	// Output:
	// rate_limited true
	// done
}

package debate_test

import (
	"context"
	"fmt"
	"log"

	"github.com/aragora/aragora/agent/agenttest"
	"github.com/aragora/aragora/agent/demo"
	"github.com/aragora/aragora/debate"
)

func ExampleOrchestrator_Run() {
	// Say answers every call with the same text. As a vote it names "ada",
	// so both votes resolve to ada's proposal (docs/agents.md#phases-and-reply-formats, docs/debate.md#consensus).
	say := agenttest.Say("I back ada: use Postgres.")
	o, err := debate.New(debate.Config{Rounds: 1},
		debate.Participant{Name: "ada", Agent: say},
		debate.Participant{Name: "bob", Agent: say})
	if err != nil {
		log.Fatal(err)
	}
	res, err := o.Run(context.Background(), "Which database?")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status, res.Winner) // the winner is an agent name
	// Output: consensus_reached ada
}

func Example_demoAgents() {
	// Demo agents are deterministic and offline: the same seed always gives
	// the same debate.
	var ps []debate.Participant
	for _, spec := range []string{"demo-analyst", "demo-critic", "demo-judge"} {
		name, style, _ := demo.ParseSpec(spec)
		ps = append(ps, debate.Participant{Name: name, Agent: demo.New(name, style, 1)})
	}
	o, err := debate.New(debate.Config{}, ps...)
	if err != nil {
		log.Fatal(err)
	}
	res, err := o.Run(context.Background(), "Should we migrate the billing service to Postgres?")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status != "", res.RoundsUsed >= 1, len(res.Transcript[0].Proposals))
	// Output: true true 3
}

package debate_test

import (
	"context"
	"fmt"
	"log"

	"github.com/aragora/aragora/agent/demo"
	"github.com/aragora/aragora/debate"
)

// Example_engineOnly is the first level of README.md's "Use it as a
// library": the engine alone, in memory, with any agent.Agent.
func Example_engineOnly() {
	var participants []debate.Participant
	for _, name := range []string{"demo-analyst", "demo-critic", "demo-judge"} {
		participants = append(participants, debate.Participant{
			Name:  name,
			Agent: demo.New(name, demo.DefaultStyle(name), 1), // any agent.Agent works here
		})
	}
	// The zero Config works: 3 rounds, majority, all-to-all critiques, and an
	// unsigned receipt (Receipt.Signer signs it; DisableReceipt turns it off).
	o, err := debate.New(debate.Config{}, participants...)
	if err != nil {
		log.Fatal(err)
	}
	res, err := o.Run(context.Background(), "Should we adopt Postgres?")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status, res.Winner, res.Receipt.VerifyHash())
	// Output: consensus_reached demo-critic true
}

package demo_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/demo"
)

func Example() {
	// The CLI's default demo agents: analyst (supportive), critic (critical)
	// and judge (balanced).
	var agents []*demo.Agent
	for _, spec := range []string{"demo-analyst", "demo-critic", "demo-judge:contrarian"} {
		name, style, err := demo.ParseSpec(spec)
		if err != nil {
			log.Fatal(err)
		}
		agents = append(agents, demo.New(name, style, 1))
		fmt.Println(name, style)
	}

	proposals := []agent.Proposal{
		{Agent: "demo-analyst", Text: "Adopt it in phases."},
		{Agent: "demo-critic", Text: "Reject it: the TCO is 3–5× the price."},
		{Agent: "demo-judge", Text: "Keep the status quo."},
	}
	// The analyst votes for the first proposal that is not its own.
	resp, err := agents[0].Respond(context.Background(), agent.Request{
		Participant: "demo-analyst", Phase: agent.PhaseVote, Round: 1,
		Question: "Should we adopt Kubernetes?", Proposals: proposals, ForbidSelfVote: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Text)
	fmt.Println(resp.Model, resp.Provider)
	// Output:
	// demo-analyst supportive
	// demo-critic critical
	// demo-judge contrarian
	// {"choice":"demo-critic","confidence":0.89,"reasoning":"demo-critic's proposal is the most actionable and the best supported."}
	// demo-supportive demo
}

func ExampleAgent_RespondStream() {
	a := demo.New("demo-hollow", demo.StyleHollow, 7)
	var chunks []string
	resp, err := a.RespondStream(context.Background(), agent.Request{Phase: agent.PhasePropose, Round: 1},
		func(chunk string) { chunks = append(chunks, chunk) })
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(chunks), chunks[0]+chunks[1]+"…")
	fmt.Println(strings.Join(chunks, "") == resp.Text, resp.Text == demo.HollowText)
	// Output:
	// 29 Generally the …
	// true true
}

func ExampleDefaultStyle() {
	for _, name := range []string{"demo-analyst", "skeptic", "demo-judge", "demo-hollow"} {
		fmt.Println(name, demo.DefaultStyle(name))
	}
	// Output:
	// demo-analyst supportive
	// skeptic critical
	// demo-judge balanced
	// demo-hollow hollow
}

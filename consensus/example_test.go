package consensus_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/consensus"
)

func Example() {
	names := []string{"ada", "bob", "cy"}
	in := consensus.Input{
		Participants: names,
		Options: []consensus.Option{
			{Agent: "ada", Text: "Migrate billing to Postgres in two phases."},
			{Agent: "bob", Text: "Keep MySQL and add read replicas."},
			{Agent: "cy", Text: "Move everything onto DynamoDB."},
		},
	}
	// Votes in agent order; the caller resolves choices and sets weights.
	for _, x := range [][2]string{{"ada", "ada"}, {"bob", "The ada proposal"}, {"cy", "bob"}} {
		resolved := consensus.ResolveChoice(x[1], names)
		in.Votes = append(in.Votes, consensus.Vote{
			Voter: x[0], Choice: x[1], Resolved: resolved, Valid: resolved != "",
			Confidence: 0.8, Weight: 0.8 * 1.0, // confidence × agent weight
		})
	}

	m, err := consensus.ByName("supermajority", 0) // default threshold: exactly 2/3
	if err != nil {
		panic(err)
	}
	r, err := m.Decide(context.Background(), in)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s reached=%v winner=%s share=%.3f threshold=%.3f\n", r.Method, r.Reached, r.Winner, r.LeaderShare, *r.Threshold)
	fmt.Println("supporting", r.Supporting, "dissenting", r.Dissenting)
	fmt.Println(r.Dissents[0].Agent, r.Dissents[0].Choice, r.Dissents[0].Reasons)
	// Output:
	// supermajority reached=true winner=ada share=0.667 threshold=0.667
	// supporting [ada bob] dissenting [cy]
	// cy bob [(no reason given)]
}

func ExampleJudge() {
	in := consensus.Input{
		Participants: []string{"ada", "bob"},
		Options:      []consensus.Option{{Agent: "ada", Text: "Postgres."}, {Agent: "bob", Text: "MySQL."}},
		Judgement:    &agent.Judgement{Decided: true, Choice: "bob", Confidence: 0.7, Answer: "Keep MySQL for now."},
	}
	r, err := consensus.Judge{}.Decide(context.Background(), in)
	fmt.Println(r.Reached, r.Winner, r.Confidence, r.Answer, err)

	in.Judgement = nil // the judge call failed: decide by majority instead
	_, err = consensus.Judge{}.Decide(context.Background(), in)
	fmt.Println(errors.Is(err, consensus.ErrJudgeFailed), consensus.NeedsJudge(consensus.Judge{}))
	// Output:
	// true bob 0.7 Keep MySQL for now. <nil>
	// true true
}

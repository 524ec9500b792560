package agent_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aragora/aragora/agent"
)

// ruleVoter is a rule-based agent: it votes structurally for the first
// proposal and answers every other call with a fixed text.
type ruleVoter struct{}

func (ruleVoter) Respond(context.Context, agent.Request) (agent.Response, error) {
	return agent.Response{Text: "Use Postgres."}, nil
}

func (ruleVoter) Vote(_ context.Context, req agent.Request) (agent.Vote, agent.Usage, error) {
	return agent.Vote{Choice: req.Proposals[0].Agent, Confidence: 1}, agent.Usage{}, nil
}

// A middleware of your own, written once with Wrap: it logs every call,
// whatever the method, and the agent it returns still votes structurally.
func ExampleWrap() {
	logCalls := func(next agent.Agent) agent.Agent {
		return agent.Wrap(next, func(ctx context.Context, c agent.Call) (agent.Response, error) {
			fmt.Println("call:", c.Capability, c.Request.Phase)
			return c.Next(ctx)
		})
	}
	a := agent.Chain(ruleVoter{}, logCalls, agent.Timeout(time.Minute))
	fmt.Println(agent.Capabilities(a))

	v, _, err := a.(agent.Voter).Vote(context.Background(), agent.Request{
		Phase: agent.PhaseVote, Proposals: []agent.Proposal{{Agent: "ada", Text: "Use Postgres."}},
	})
	fmt.Println(v.Choice, err)
	// Output:
	// [respond vote]
	// call: vote vote
	// ada <nil>
}

// A custom agent reports its provider's refusals with the helpers, and the
// middleware of this module treats them like a provider's HTTP statuses.
func ExampleRateLimited() {
	errs := []error{
		agent.RateLimited(20 * time.Second),
		agent.QuotaExhausted(errors.New("monthly budget spent")),
		agent.Transient(errors.New("connection reset")),
		agent.AuthFailed(nil),
	}
	for _, err := range errs {
		fmt.Printf("%-16s retry=%-5v after=%v\n", agent.KindOf(err), agent.Retryable(err), agent.RetryAfter(err))
	}
	// Output:
	// rate_limited     retry=true  after=20s
	// quota_exhausted  retry=false after=0s
	// server           retry=true  after=0s
	// auth             retry=false after=0s
}

// An agent names its provider and model with Describe; InfoOf finds it
// through middleware.
func ExampleInfoOf() {
	a := agent.Chain(described{}, agent.Timeout(time.Minute), agent.Retry(agent.RetryConfig{}))
	info, ok := agent.InfoOf(a)
	fmt.Println(info.Provider, info.Model, ok)
	// Output: acme acme-large-2 true
}

type described struct{ agent.Func }

func (described) Describe() agent.Info { return agent.Info{Provider: "acme", Model: "acme-large-2"} }

// A rule-based agent from functions: it answers prompts with a fixed text
// and votes structurally, so it is an agent.Voter and nothing more.
func ExampleFuncs() {
	a := agent.Funcs{
		Respond: func(context.Context, agent.Request) (agent.Response, error) {
			return agent.Response{Text: "Use Postgres."}, nil
		},
		Vote: func(_ context.Context, req agent.Request) (agent.Vote, agent.Usage, error) {
			return agent.Vote{Choice: req.Participants[0], Confidence: 0.9}, agent.Usage{}, nil
		},
	}.Agent()
	fmt.Println(agent.Capabilities(a))
	// Output: [respond vote]
}

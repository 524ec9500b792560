package debate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/consensus"
	"github.com/aragora/aragora/debate"
)

// callLog counts an agent's calls by kind.
type callLog struct {
	mu    sync.Mutex
	calls map[string]int
}

func (l *callLog) add(kind string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.calls == nil {
		l.calls = map[string]int{}
	}
	l.calls[kind]++
}

// nativeAgent is an immediate agent that critiques and votes through its
// structured methods (agent.Critic, agent.Voter).
type nativeAgent struct {
	immediateFunc
	log *callLog
}

func (a nativeAgent) Critique(context.Context, agent.Request) (agent.Critique, agent.Usage, error) {
	a.log.add("critique")
	return agent.Critique{Issues: []string{"cost"}, Severity: 2, Reasoning: "native"}, agent.Usage{InputTokens: 1}, nil
}

func (a nativeAgent) Vote(context.Context, agent.Request) (agent.Vote, agent.Usage, error) {
	a.log.add("vote")
	return agent.Vote{Choice: "agent0", Confidence: 0.7, Reasoning: "native"}, agent.Usage{InputTokens: 1}, nil
}

// TestNativeAndPlainCalls checks that the engine calls an agent's
// structured methods in their phases and Respond in the others, and a
// plain agent's Respond in every phase, whether the calls run inline or
// on goroutines, over several debates of one Orchestrator.
func TestNativeAndPlainCalls(t *testing.T) {
	t.Parallel()
	for _, inline := range []bool{true, false} {
		t.Run(fmt.Sprint("inline=", inline), func(t *testing.T) {
			t.Parallel()
			logs := make([]*callLog, 3)
			var ps []debate.Participant
			for i := range logs {
				name := fmt.Sprintf("agent%d", i)
				log := &callLog{}
				logs[i] = log
				f := instant(name, "agent0")
				respond := agent.Func(func(ctx context.Context, req agent.Request) (agent.Response, error) {
					log.add("respond " + string(req.Phase))
					return f(ctx, req)
				})
				var a agent.Agent = immediateFunc{respond}
				switch {
				case i == 1:
					a = nativeAgent{immediateFunc{respond}, log}
				case !inline:
					a = respond
				}
				ps = append(ps, debate.Participant{Name: name, Agent: a})
			}
			o, err := debate.New(debate.Config{Rounds: 2, DisableEarlyStop: true}, ps...)
			if err != nil {
				t.Fatal(err)
			}
			const runs = 2
			for range runs {
				res, err := o.Run(context.Background(), "Should we migrate the billing service to Postgres?")
				if err != nil {
					t.Fatal(err)
				}
				if res.Winner != "agent0" {
					t.Fatalf("winner %q, want agent0", res.Winner)
				}
			}
			// 2 rounds: a proposal and a revision, 2 critiques and a vote
			// a round.
			plain := map[string]int{"respond propose": runs, "respond revise": runs, "respond critique": 4 * runs, "respond vote": 2 * runs}
			native := map[string]int{"respond propose": runs, "respond revise": runs, "critique": 4 * runs, "vote": 2 * runs}
			for i, log := range logs {
				want := plain
				if i == 1 {
					want = native
				}
				if fmt.Sprint(log.calls) != fmt.Sprint(want) {
					t.Errorf("agent%d: calls %v, want %v", i, log.calls, want)
				}
			}
		})
	}
}

// TestResultIndependentOfLaterRuns checks that a result shares no memory
// that later rounds or later debates of its Orchestrator write (the run's
// reused buffers: the vote phase's votes and options, the decisions, the
// transcript), with every consensus method of package consensus that
// holds a vote ("none" has no vote phase).
func TestResultIndependentOfLaterRuns(t *testing.T) {
	t.Parallel()
	for _, method := range []string{"majority", "supermajority", "unanimous", "weighted", "judge"} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			var ps []debate.Participant
			for i := range 4 {
				name := fmt.Sprintf("agent%d", i)
				ps = append(ps, debate.Participant{Name: name, Agent: borrowingFunc{immediateFunc{instant(name, fmt.Sprintf("agent%d", i%2))}}})
			}
			m, err := consensus.ByName(method, 0)
			if err != nil {
				t.Fatal(err)
			}
			o, err := debate.New(debate.Config{Rounds: 3, DisableEarlyStop: true, Consensus: m}, ps...)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			first, err := o.Run(ctx, "Should we migrate the billing service to Postgres?")
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(first)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				if _, err := o.Run(ctx, fmt.Sprintf("Should we shard the cluster by tenant, option %d?", i)); err != nil {
					t.Fatal(err)
				}
			}
			got, err := json.Marshal(first)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Fatalf("the first result changed after later debates:\n got %s\nwant %s", got, want)
			}
			if len(first.Transcript) != 3 || first.Transcript[2].Decision == nil {
				t.Fatalf("transcript %+v, want 3 decided rounds", first.Transcript)
			}
		})
	}
}

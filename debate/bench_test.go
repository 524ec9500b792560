package debate_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/debate"
)

// immediateFunc is an agent.Func that declares itself agent.Immediate: it
// answers at once, without I/O or waiting, so the engine calls it on the
// debate's goroutine (docs/agents.md#optional-capabilities).
type immediateFunc struct{ agent.Func }

func (immediateFunc) Immediate() bool { return true }

// borrowingFunc is an immediateFunc that also says it keeps nothing of a
// request's prompt once a call has returned (agent.PromptBorrower), as
// the demo agents do: the engine then writes its prompts into reused
// memory.
type borrowingFunc struct{ immediateFunc }

func (borrowingFunc) BorrowsPrompt() bool { return true }

// instant answers every call at once with a fixed, valid reply.
func instant(name, voteFor string) agent.Func {
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

func benchDebate(b *testing.B, n, rounds int, goroutines bool) {
	var ps []debate.Participant
	for i := range n {
		name := fmt.Sprintf("agent%d", i)
		var a agent.Agent = borrowingFunc{immediateFunc{instant(name, "agent0")}}
		if goroutines {
			a = instant(name, "agent0")
		}
		ps = append(ps, debate.Participant{Name: name, Agent: a})
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
// measures the orchestrator alone. The agents answer at once and say so
// (agent.Immediate), so the engine calls them on the debate's goroutine,
// as it does the demo agents, and they keep nothing of their prompts
// (agent.PromptBorrower), as the demo agents; the goroutines/ cases hide
// those capabilities (plain agent.Func), so every call gets a goroutine,
// timer, deadline and prompt of its own, as calls to real model APIs do
// (docs/BENCHMARKS.md, section 5, fourth and eighth passes).
func BenchmarkDebate(b *testing.B) {
	for _, c := range []struct {
		n, rounds  int
		goroutines bool
	}{{3, 3, false}, {5, 3, false}, {5, 3, true}} {
		name := fmt.Sprintf("agents=%d/rounds=%d", c.n, c.rounds)
		if c.goroutines {
			name = "goroutines/" + name
		}
		b.Run(name, func(b *testing.B) { benchDebate(b, c.n, c.rounds, c.goroutines) })
	}
}

// BenchmarkDemoDebate runs the peer benchmark's debate (docs/BENCHMARKS.md):
// 5 demo agents, styles supportive, critical and balanced cycling, 3
// rounds, early stop off.
func BenchmarkDemoDebate(b *testing.B) {
	benchRun(b, 3, demoParticipants(42,
		"demo-a:supportive", "demo-b:critical", "demo-c:balanced", "demo-d:supportive", "demo-e:critical"))
}

// TestInlinePromptsKept checks that the prompts of inline calls, which
// the engine cuts from shared chunks, are never written after the call
// that got them: an agent that keeps every request sees the same prompts
// at the debate's end as during its calls, and the same as an agent
// called on goroutines.
func TestInlinePromptsKept(t *testing.T) {
	run := func(immediate bool) (kept, copies []string) {
		var mu sync.Mutex
		var ps []debate.Participant
		for i := range 5 {
			name := fmt.Sprintf("agent%d", i)
			f := instant(name, "agent0")
			var a agent.Agent = agent.Func(func(ctx context.Context, req agent.Request) (agent.Response, error) {
				mu.Lock()
				kept = append(kept, req.Prompt)
				copies = append(copies, strings.Clone(req.Prompt))
				mu.Unlock()
				return f(ctx, req)
			})
			if immediate {
				a = immediateFunc{a.(agent.Func)}
			}
			ps = append(ps, debate.Participant{Name: name, Agent: a})
		}
		o, err := debate.New(debate.Config{Rounds: 3, DisableEarlyStop: true}, ps...)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := o.Run(context.Background(), "Should we migrate the billing service to Postgres?"); err != nil {
				t.Fatal(err)
			}
		}
		slices.Sort(kept)
		slices.Sort(copies)
		return kept, copies
	}
	kept, copies := run(true)
	if len(kept) == 0 || !slices.Equal(kept, copies) {
		t.Fatalf("a kept prompt changed after its call")
	}
	other, _ := run(false)
	if !slices.Equal(kept, other) {
		t.Fatalf("inline prompts differ from goroutine calls' prompts")
	}
}

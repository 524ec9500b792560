package debate

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/aragora/aragora/agent"
)

// cannedAgent answers each phase with its text, at once (agent.Immediate).
type cannedAgent map[agent.Phase]string

func (c cannedAgent) Respond(_ context.Context, req agent.Request) (agent.Response, error) {
	return agent.Response{Text: c[req.Phase]}, nil
}

func (cannedAgent) Immediate() bool { return true }

// TestPooledSpecsZero checks that a spec buffer given back to the
// Orchestrator is zero up to its capacity, which specsFor relies on to
// not clear it again, after debates whose phases have from 2 to 20 calls.
func TestPooledSpecsZero(t *testing.T) {
	t.Parallel()
	proposal := "Adopt a staged migration with a pilot and a rollback plan."
	canned := cannedAgent{agent.PhasePropose: proposal, agent.PhaseRevise: proposal,
		agent.PhaseCritique: `{"issues":["cost"],"suggestions":["pilot"],"severity":3,"reasoning":"ok"}`,
		agent.PhaseVote:     `{"choice":"a0","confidence":0.8,"reasoning":"clear"}`}
	for _, n := range []int{5, 2, 3} {
		var ps []Participant
		for i := range n {
			ps = append(ps, Participant{Name: fmt.Sprint("a", i), Agent: canned})
		}
		o, err := New(Config{Rounds: 2, DisableEarlyStop: true}, ps...)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := o.Run(context.Background(), "Should we migrate the billing service to Postgres?"); err != nil {
				t.Fatal(err)
			}
			p, _ := o.specs.Get().(*[]callSpec)
			if p == nil {
				continue // the pool dropped it (as it may, under -race)
			}
			for i, s := range (*p)[:cap(*p)] {
				if !reflect.ValueOf(s).IsZero() {
					t.Fatalf("%d agents: spec %d of %d given back not zero: %+v", n, i, cap(*p), s)
				}
			}
			o.specs.Put(p)
		}
	}
}

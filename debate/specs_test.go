package debate

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/aragora/aragora/agent"
)

// immediateAgent answers every call at once (agent.Immediate).
type immediateAgent struct{ agent.Func }

func (immediateAgent) Immediate() bool { return true }

// TestPooledSpecsZero checks that a spec buffer given back to the
// Orchestrator is zero up to its capacity, which specsFor relies on to
// not clear it again, after debates whose phases have from 2 to 20 calls.
func TestPooledSpecsZero(t *testing.T) {
	t.Parallel()
	reply := agent.Func(func(_ context.Context, req agent.Request) (agent.Response, error) {
		switch req.Phase {
		case agent.PhaseCritique:
			return agent.Response{Text: `{"issues":["cost"],"suggestions":["pilot"],"severity":3,"reasoning":"ok"}`}, nil
		case agent.PhaseVote:
			return agent.Response{Text: `{"choice":"a0","confidence":0.8,"reasoning":"clear"}`}, nil
		}
		return agent.Response{Text: "Adopt a staged migration with a pilot, from " + req.Participant + "."}, nil
	})
	for _, n := range []int{5, 2, 3} {
		var ps []Participant
		for i := range n {
			ps = append(ps, Participant{Name: fmt.Sprint("a", i), Agent: immediateAgent{reply}})
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

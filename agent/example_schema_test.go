package agent_test

import (
	"context"
	"fmt"
	"time"

	"github.com/aragora/aragora/agent"
)

// schemaModel is an agent whose model can answer a JSON schema: it says so
// with SupportsSchema and marks such replies Structured.
type schemaModel struct{}

func (schemaModel) SupportsSchema() bool { return true }

func (schemaModel) Respond(_ context.Context, req agent.Request) (agent.Response, error) {
	if req.Schema != nil { // send req.Schema.JSON to the model; here, answer it
		return agent.Response{Text: `{"choice":"alice","confidence":0.9,"reasoning":"clearest plan"}`, Structured: true}, nil
	}
	return agent.Response{Text: "I vote for alice."}, nil
}

// The engine asks an agent for structured critiques, votes and judgements
// when agent.SupportsSchema reports true, through any middleware written
// with agent.Wrap.
func ExampleSupportsSchema() {
	wrapped := agent.Chain(schemaModel{}, agent.Timeout(time.Minute))
	fmt.Println(agent.SupportsSchema(wrapped), agent.SupportsSchema(agent.Func(schemaModel{}.Respond)))

	resp, _ := wrapped.Respond(context.Background(), agent.Request{Phase: agent.PhaseVote,
		Schema: &agent.Schema{Name: "vote", JSON: []byte(`{"type":"object"}`)}})
	fmt.Println(resp.Structured, resp.Text)
	// Output:
	// true false
	// true {"choice":"alice","confidence":0.9,"reasoning":"clearest plan"}
}

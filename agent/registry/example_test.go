package registry_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/registry"
)

func Example() {
	vars := map[string]string{"OPENROUTER_API_KEY": "sk-or-example"} // no ANTHROPIC_API_KEY
	cfg, err := registry.FromEnv(func(k string) string { return vars[k] })
	if err != nil {
		log.Fatal(err)
	}
	r, err := registry.New(cfg)
	if err != nil {
		log.Fatal(err)
	}

	// claude has no key of its own: it runs through OpenRouter.
	_, _, info, err := r.Resolve("claude", 1)
	fmt.Println(info.Name, info.Provider, info.Model, err)

	// A spec gets a derived name.
	name, _, _, _ := r.Resolve("openrouter:meta-llama/llama-3.1-70b-instruct", 1)
	fmt.Println(name)

	// ollama needs OLLAMA_HOST, and OpenRouter cannot stand in.
	_, _, _, err = r.Resolve("ollama", 1)
	var ue *registry.UnavailableError
	fmt.Println(errors.As(err, &ue), ue.Var)

	// Demo agents always run, offline.
	_, a, _, err := r.Resolve("demo-critic", 1)
	if err != nil {
		log.Fatal(err)
	}
	resp, err := a.Respond(context.Background(), agent.Request{Participant: "demo-critic", Phase: agent.PhasePropose,
		Round: 1, Question: "Should we adopt Postgres?"})
	fmt.Println(resp.Provider, err == nil && resp.Text != "")
	// Output:
	// claude openrouter anthropic/claude-sonnet-4.5 <nil>
	// openrouter-meta-llama-llama-3.1-70b-instruct
	// true OLLAMA_HOST
	// demo true
}

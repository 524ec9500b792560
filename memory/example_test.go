package memory_test

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/agenttest"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/memory"
	"github.com/aragora/aragora/store/memstore"
)

// Example runs two debates on one domain with a memory: the critics of the
// first flag a mistake, and the second debate's proposal prompts recall it.
func Example() {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)
	mem, err := memory.New(memory.Config{Store: memstore.NewMemory(), Now: func() time.Time { return now }})
	if err != nil {
		log.Fatal(err)
	}
	critique := `{"issues":["Plain-text passwords leak on any breach"],"suggestions":["hash them"],"severity":9,"reasoning":"security"}`
	run := func(id string) (*debate.Result, *agenttest.ScriptedAgent) {
		sloppy := agenttest.Scripted(agenttest.Script{Proposals: []string{"Store the passwords in plain text."}, Votes: []string{"careful"}})
		careful := agenttest.Scripted(agenttest.Script{Proposals: []string{"Hash passwords with argon2id."}, Critique: critique, Votes: []string{"careful"}})
		o, err := debate.New(debate.Config{Rounds: 1, Domain: "security", Memory: mem, NewID: func() string { return id },
			Now: func() time.Time { return now }},
			debate.Participant{Name: "sloppy", Agent: sloppy}, debate.Participant{Name: "careful", Agent: careful})
		if err != nil {
			log.Fatal(err)
		}
		res, err := o.Run(ctx, "How should the login service store passwords?")
		if err != nil {
			log.Fatal(err)
		}
		return res, sloppy
	}
	first, _ := run("first")
	fmt.Println("first debate recalled:", len(first.MemoryIDs))
	now = now.Add(time.Hour)
	second, sloppy := run("second")
	fmt.Println("second debate recalled:", len(second.MemoryIDs))
	prompt := sloppy.CallsIn(agent.PhasePropose)[0].Prompt
	fmt.Println("its prompt warns:", strings.Contains(prompt, "Critics flagged: Plain-text passwords leak on any breach"))
	fmt.Println("its receipt names them:", second.Receipt.Metadata["memory_ids"] == strings.Join(second.MemoryIDs, ","))
	// Output:
	// first debate recalled: 0
	// second debate recalled: 2
	// its prompt warns: true
	// its receipt names them: true
}

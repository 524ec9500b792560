// Command basic embeds the Aragora debate engine as a library: three
// offline demo agents debate a question, a live observer prints their
// proposals, and the result and its decision receipt are printed at the
// end. It needs no API key and no network:
//
//	go run ./examples/basic
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/aragora/aragora/agent/demo"
	"github.com/aragora/aragora/debate"
)

func main() {
	if err := run(context.Background(), os.Stdout, "Should we migrate the billing service to Postgres?"); err != nil {
		fmt.Fprintln(os.Stderr, "basic:", err)
		os.Exit(1)
	}
}

// run debates question with three demo agents and writes the outcome to w.
func run(ctx context.Context, w io.Writer, question string) error {
	const seed = 1 // same seed, same debate

	// Demo agents are deterministic styled agents (supportive, critical,
	// balanced, ...). Any agent.Agent works here: a provider adapter, a
	// rule-based agent, or a fake from agent/agenttest.
	var participants []debate.Participant
	for _, spec := range []string{"demo-analyst", "demo-critic", "demo-judge"} {
		name, style, err := demo.ParseSpec(spec)
		if err != nil {
			return err
		}
		a := demo.New(name, style, seed)
		participants = append(participants, debate.Participant{Name: name, Agent: a, Model: a.Model()})
	}

	// Observers receive every event in order, each on its own goroutine;
	// the mutex keeps this one's writes from interleaving with ours.
	var mu sync.Mutex
	printProposals := debate.ObserverFunc(func(e debate.Event) {
		if p, ok := e.Data.(debate.ProposalData); ok {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(w, "[round %d] %s proposes: %s\n", e.Round, e.Agent, firstSentence(p.Content))
		}
	})

	// The zero Config works (3 rounds, majority, all-to-all); set only what
	// differs. Receipt makes the result carry a sealed decision receipt.
	cfg := debate.Config{
		Rounds:    2,
		Seed:      seed,
		Receipt:   &debate.ReceiptOptions{},
		Observers: []debate.Observer{printProposals},
	}
	o, err := debate.New(cfg, participants...)
	if err != nil {
		return err
	}
	res, err := o.Run(ctx, question)
	if err != nil {
		return err
	}

	mu.Lock()
	defer mu.Unlock()
	fmt.Fprintf(w, "\nstatus:     %s after %d of %d rounds\n", res.Status, res.RoundsUsed, res.RoundsPlanned)
	fmt.Fprintf(w, "verdict:    %s (confidence %.0f%%)\n", res.Verdict, res.Confidence*100)
	fmt.Fprintf(w, "winner:     %s\n", res.Winner)
	fmt.Fprintf(w, "supporting: %s\n", strings.Join(res.Consensus.Supporting, ", "))
	fmt.Fprintf(w, "tokens:     %d\n", res.Usage.TotalTokens)
	fmt.Fprintf(w, "answer:     %s\n", firstSentence(res.FinalAnswer))
	fmt.Fprintf(w, "receipt:    %s %s\n", res.Receipt.ReceiptID, res.Receipt.ContentHash)
	return nil
}

// firstSentence returns s up to its first ". ".
func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

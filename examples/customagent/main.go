// Command customagent shows how a third party plugs its own agent into a
// debate: Checklist implements the one-method agent.Agent port with plain
// rules (no model, no network) and debates two offline demo agents.
//
//	go run ./examples/customagent
//
// A real adapter would call a model in Respond and return its text and
// token usage; the orchestrator builds the prompts and parses the replies
// (docs/agents.md#phases-and-reply-formats). Rule-based agents can instead read the structured
// fields of agent.Request (Phase, Proposals, Target, Own, Critiques).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/demo"
	"github.com/aragora/aragora/debate"
)

func main() {
	if err := run(context.Background(), os.Stdout, "Should we move our nightly batch jobs to Kubernetes?"); err != nil {
		fmt.Fprintln(os.Stderr, "customagent:", err)
		os.Exit(1)
	}
}

// Checklist is a rule-based agent: it proposes a checklist-driven plan,
// critiques proposals for missing checklist items, and votes for the
// proposal that covers the most items. It is stateless, so it is safe for
// concurrent use, as agent.Agent requires.
type Checklist struct {
	// Items are the words a good proposal mentions; nil means DefaultItems.
	Items []string
}

// DefaultItems is the checklist used when Checklist.Items is nil.
var DefaultItems = []string{"rollback", "cost", "pilot", "metric", "risk", "timeline"}

var _ agent.Agent = Checklist{}

// Respond answers one call according to its phase.
func (c Checklist) Respond(ctx context.Context, req agent.Request) (agent.Response, error) {
	if err := ctx.Err(); err != nil {
		return agent.Response{}, err // return promptly once ctx is done
	}
	var text string
	switch req.Phase {
	case agent.PhasePropose, agent.PhaseRevise:
		text = c.propose(req)
	case agent.PhaseCritique:
		text = c.critique(req)
	case agent.PhaseVote:
		text = c.vote(req, "choice", "confidence", "reasoning")
	case agent.PhaseJudge:
		text = c.judge(req)
	case agent.PhaseSynthesize:
		text = mustJSON(map[string]any{"answer": c.best(req.Proposals).Text, "confidence": 0.6})
	default:
		return agent.Response{}, fmt.Errorf("checklist: unknown phase %q", req.Phase)
	}
	// Report usage so that budgets and receipts count this agent too
	// (here a rough 4 characters per token).
	usage := agent.Usage{InputTokens: (len(req.System) + len(req.Prompt)) / 4, OutputTokens: len(text) / 4}
	return agent.Response{Text: text, Usage: usage, Model: "checklist-v1"}, nil
}

func (c Checklist) items() []string {
	if c.Items == nil {
		return DefaultItems
	}
	return c.Items
}

func (c Checklist) propose(req agent.Request) string {
	text := fmt.Sprintf("For %q: start with a pilot of two jobs for 4 weeks, track one metric (p95 job latency) "+
		"and the monthly cost, keep the old scheduler as the rollback path, and review the risk register "+
		"at each timeline milestone.", req.Question)
	if req.Phase == agent.PhaseRevise && len(req.Critiques) > 0 && len(req.Critiques[0].Issues) > 0 {
		text += " Revised after critique: " + req.Critiques[0].Issues[0]
	}
	return text
}

// missing lists the checklist items text does not mention.
func (c Checklist) missing(text string) []string {
	var out []string
	lower := strings.ToLower(text)
	for _, it := range c.items() {
		if !strings.Contains(lower, it) {
			out = append(out, it)
		}
	}
	return out
}

func (c Checklist) critique(req agent.Request) string {
	var target string
	for _, p := range req.Proposals {
		if p.Agent == req.Target {
			target = p.Text
		}
	}
	miss := c.missing(target)
	issues := make([]string, 0, len(miss))
	for _, m := range miss {
		issues = append(issues, "The proposal does not address "+m+".")
	}
	if len(issues) == 0 {
		issues = append(issues, "No checklist gaps; the plan could cite a source for its figures.")
	}
	return mustJSON(map[string]any{
		"issues":      issues,
		"suggestions": []string{"Cover every checklist item: " + strings.Join(c.items(), ", ") + "."},
		"severity":    2 + len(miss),
		"reasoning":   fmt.Sprintf("%d of %d checklist items missing", len(miss), len(c.items())),
	})
}

// best returns the proposal with the fewest missing items, the first on a tie.
func (c Checklist) best(ps []agent.Proposal) agent.Proposal {
	var best agent.Proposal
	fewest := -1
	for _, p := range ps {
		if n := len(c.missing(p.Text)); fewest < 0 || n < fewest {
			best, fewest = p, n
		}
	}
	return best
}

func (c Checklist) vote(req agent.Request, choiceKey, confKey, reasonKey string) string {
	b := c.best(req.Proposals)
	return mustJSON(map[string]any{
		choiceKey: b.Agent,
		confKey:   0.75,
		reasonKey: fmt.Sprintf("%s's proposal misses the fewest checklist items", b.Agent),
	})
}

func (c Checklist) judge(req agent.Request) string {
	b := c.best(req.Proposals)
	return mustJSON(map[string]any{"decided": true, "choice": b.Agent, "confidence": 0.7,
		"reasoning": "fewest checklist gaps"})
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps of strings and numbers are marshalled here
	}
	return string(b)
}

// run debates question between the checklist agent and two demo agents and
// writes the outcome to w.
func run(ctx context.Context, w io.Writer, question string) error {
	const seed = 7
	participants := []debate.Participant{
		{Name: "checklist", Agent: Checklist{}, Model: "checklist-v1", Role: "operations reviewer"},
		{Name: "demo-analyst", Agent: demo.New("demo-analyst", demo.DefaultStyle("analyst"), seed), Model: "demo-supportive"},
		{Name: "demo-critic", Agent: demo.New("demo-critic", demo.DefaultStyle("critic"), seed), Model: "demo-critical"},
	}
	o, err := debate.New(debate.Config{Rounds: 2, Seed: seed, Receipt: &debate.ReceiptOptions{}}, participants...)
	if err != nil {
		return err
	}
	res, err := o.Run(ctx, question)
	if err != nil {
		return err
	}
	for _, r := range res.Transcript {
		for _, cr := range r.Critiques {
			if cr.Critic == "checklist" {
				fmt.Fprintf(w, "[round %d] checklist → %s (severity %.0f): %s\n", r.Round, cr.Target, cr.Severity, cr.Issues[0])
			}
		}
		for _, v := range r.Votes {
			fmt.Fprintf(w, "[round %d] %s votes %s (%.2f)\n", r.Round, v.Agent, v.Resolved, v.Confidence)
		}
	}
	fmt.Fprintf(w, "\nstatus:  %s, verdict %s, confidence %.0f%%\n", res.Status, res.Verdict, res.Confidence*100)
	fmt.Fprintf(w, "winner:  %s\n", res.Winner)
	fmt.Fprintf(w, "tokens:  checklist %d of %d\n", res.PerAgent["checklist"].Usage.TotalTokens, res.Usage.TotalTokens)
	fmt.Fprintf(w, "receipt: %s\n", res.Receipt.ReceiptID)
	return nil
}

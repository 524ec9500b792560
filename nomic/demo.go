package nomic

import (
	"context"
	"fmt"
	"strings"

	"github.com/aragora/aragora/agent"
)

// DemoChangesFile is the file the demo implementer appends to.
const DemoChangesFile = "CHANGES.md"

// Demo wraps an agent (a demo agent, for the offline demo) so that it
// also answers the loop's design and implement calls with a small,
// deterministic change valid in any repository: one line recording the
// debated improvement in CHANGES.md. Debate calls go to a unchanged.
func Demo(a agent.Agent) agent.Agent {
	return agent.Func(func(ctx context.Context, req agent.Request) (agent.Response, error) {
		switch req.Phase {
		case AgentPhaseDesign:
			return agent.Response{Text: `{"files":["` + DemoChangesFile + `"],"approach":"Record the improvement the debate chose as one line in ` + DemoChangesFile + ` (created when missing)."}`}, nil
		case AgentPhaseImplement:
			return agent.Response{Text: demoImplement(req.Prompt)}, nil
		}
		return a.Respond(ctx, req)
	})
}

// demoImplement appends one line naming the cycle and its debate's
// receipt to the current CHANGES.md shown in the prompt.
func demoImplement(prompt string) string {
	head := strings.TrimSuffix(strings.TrimSpace(strings.SplitN(prompt, "\n", 2)[0]), ".")
	current := between(prompt, "=== FILE: "+DemoChangesFile+" ===\n", "\n=== END FILE ===")
	if strings.TrimSpace(current) == "" {
		current = "# Changes\n"
	}
	return fmt.Sprintf("=== FILE: %s ===\n%s\n- %s: an improvement chosen by debate (demo agents, offline).\n=== END FILE ===\n",
		DemoChangesFile, strings.TrimRight(current, "\n"), head)
}

func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	if j := strings.Index(s, end); j >= 0 {
		return s[:j]
	}
	return s
}

package evidence

import (
	"fmt"
	"strings"
)

// ChallengePrefix begins every challenge text.
const ChallengePrefix = "QUALITY CHALLENGE: possible hollow consensus"

// Challenge writes the trickster's challenge (docs/debate.md#evidence-and-the-trickster): it begins
// with ChallengePrefix, gives the similarity and the average quality, one
// line per target naming its gaps, four required actions, and closes by
// asking agents to lower their confidence in claims they cannot support.
// The text is deterministic for given arguments.
func Challenge(similarity, averageQuality float64, targets []Target) string {
	var b strings.Builder
	b.WriteString(ChallengePrefix)
	fmt.Fprintf(&b, "\nThe proposals are highly similar (similarity %.2f) but their average evidence quality is only %.2f.\n",
		similarity, averageQuality)
	if len(targets) > 0 {
		b.WriteString("Weakest proposals:\n")
		for _, t := range targets {
			gaps := "no specific gap"
			if len(t.Gaps) > 0 {
				gaps = "weak " + strings.Join(t.Gaps, ", ")
			}
			fmt.Fprintf(&b, "- %s: %s\n", t.Name, gaps)
		}
	}
	b.WriteString("Required in your next revision:\n")
	b.WriteString("1. Cite sources or data for your key claims.\n")
	b.WriteString("2. Give concrete numbers (measurements, costs, sizes, timings).\n")
	b.WriteString("3. Give a real example of the approach in practice.\n")
	b.WriteString("4. Make your reasoning chain explicit (because X, therefore Y).\n")
	b.WriteString("Lower your confidence in any claim you cannot support.")
	return b.String()
}

package evidence_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/aragora/aragora/evidence"
)

func Example() {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	text := "Generally the first option is usually better. It depends on various factors, but in " +
		"some cases it might work. Best practices suggest it could potentially have a significant impact."
	s := evidence.Score(text, now, evidence.Weights{})
	fmt.Printf("overall %.2f temporal %.1f\n", s.Overall, s.Temporal)

	// Two agents propose that same text: the consensus is hollow.
	h := evidence.CheckHollow([]evidence.Scores{s, s}, 1.0, 0)
	fmt.Printf("hollow %v severity %.3f bar %.3f\n", h.Hollow, h.Severity, h.Bar)

	targets := evidence.Targets([]string{"a", "b"}, []evidence.Scores{s, s}, 0)
	challenge := evidence.Challenge(h.Similarity, h.Average, targets)
	fmt.Println(strings.SplitN(challenge, "\n", 2)[0])
	fmt.Println(targets[0].Name, targets[0].Gaps)
	// Output:
	// overall 0.08 temporal 0.8
	// hollow true severity 0.651 bar 0.218
	// QUALITY CHALLENGE: possible hollow consensus
	// a [citations specificity reasoning evidence_diversity]
}

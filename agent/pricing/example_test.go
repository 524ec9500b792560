package pricing_test

import (
	"fmt"
	"log"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/pricing"
)

func Example() {
	// What ARAGORA_PRICING_FILE would hold.
	override, err := pricing.Parse([]byte(`{"claude-sonnet-4-5":{"input_per_mtok":2,"output_per_mtok":10}}`))
	if err != nil {
		log.Fatal(err)
	}
	table := pricing.Default().Merge(override)
	usage := agent.Usage{InputTokens: 1000, OutputTokens: 500}
	for _, model := range []string{"claude-sonnet-4-5", "gpt-4o-2024-08-06", "unknown-model"} {
		cost, ok := table.Cost(model, usage)
		fmt.Printf("%s %.4f %v\n", model, cost, ok)
	}
	// Output:
	// claude-sonnet-4-5 0.0070 true
	// gpt-4o-2024-08-06 0.0075 true
	// unknown-model 0.0000 false
}

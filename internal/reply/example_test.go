package reply_test

import (
	"fmt"

	"github.com/aragora/aragora/internal/reply"
)

func Example() {
	v := reply.ParseVote("Sure. ```json\n{\"Choice\": \"bob\", \"confidence\": \"80%\"}\n```", []string{"ada", "bob"}, "ada", true)
	fmt.Println(v.Choice, v.Confidence, v.Parse, v.OK)

	v = reply.ParseVote("I back ada, bob's plan is weaker.", []string{"ada", "bob"}, "bob", true)
	fmt.Println(v.Choice, v.Confidence, v.Parse)

	c := reply.ParseCritique(`{"issues": "no numbers", "severity": 12}`)
	fmt.Println(c.Issues, c.Severity, c.Parse)

	fmt.Println(reply.Truncate("abcdef", 3))
	// Output:
	// bob 0.8 json true
	// ada 0.5 fallback
	// [no numbers] 10 json
	// abc…[truncated]
}

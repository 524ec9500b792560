package conform_test

import (
	"testing"

	"github.com/aragora/aragora/internal/conform"
)

type counter struct{ n int }

// A suite lists its checks once and runs each on a fresh implementation.
func Example() {
	cases := []conform.Case[*counter]{
		{Name: "StartsAtZero", Fn: func(t *testing.T, c *counter) {
			if c.n != 0 {
				t.Errorf("n = %d", c.n)
			}
		}},
	}
	_ = func(t *testing.T) { conform.Run(t, func(*testing.T) *counter { return &counter{} }, cases) }
}

package store_test

import (
	"fmt"

	"github.com/aragora/aragora/store"
)

// The first worked example of docs/debate.md#elo-ratings: three agents at 1500, a wins
// with consensus.
func ExampleComputeElo() {
	m := store.Match{DebateID: "deb_1", Agents: []string{"a", "b", "c"}, Winner: "a", Consensus: true}
	delta := store.ComputeElo([]float64{1500, 1500, 1500}, m.Scores())
	for i, a := range m.Agents {
		fmt.Printf("%s %.3f\n", a, store.EloInitial+delta[i])
	}
	// Output:
	// a 1510.667
	// b 1494.667
	// c 1494.667
}

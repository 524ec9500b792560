package similarity_test

import (
	"fmt"

	"github.com/aragora/aragora/similarity"
)

func Example() {
	s, err := similarity.ByName("") // the default backend
	if err != nil {
		panic(err)
	}
	m := s.Matrix([]string{
		"Use Postgres for the billing service.",
		"use postgres for the billing service",
		"Keep MySQL and add a read replica.",
	})
	fmt.Println(s.Name())
	fmt.Printf("%.2f %.2f\n", m[0][1], m[0][2])
	// Output:
	// tfidf
	// 1.00 0.00
}

func ExampleJaccard() {
	fmt.Printf("%.2f\n", similarity.Pair(similarity.Jaccard{}, "a b c d", "a b c e"))
	// Output: 0.33
}

func ExampleTokens() {
	fmt.Println(similarity.Tokens("Über-fast GPT-4o, 3.5×!"))
	// Output: [über fast gpt 4o 3 5]
}

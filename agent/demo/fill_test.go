package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFillMatchesSprintf compares fill with fmt.Sprintf on random
// templates: a %s, then %d and %% among text pieces, with questions that
// hold verbs of their own.
func TestFillMatchesSprintf(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	pieces := []string{"a", " ", "×", "–", "%%", "$", ",000", "\"", "é", "%%d", ""}
	questions := []string{"", "q", "Should we %d migrate %s?", "100%", "é \u2028 \xff"}
	for range 5000 {
		var b strings.Builder
		var nums []int
		b.WriteString(pieces[r.IntN(len(pieces))])
		b.WriteString("%s")
		for range r.IntN(8) {
			b.WriteString(pieces[r.IntN(len(pieces))])
			if r.IntN(2) == 0 {
				b.WriteString("%d")
				nums = append(nums, r.IntN(20000)-10000)
			}
		}
		b.WriteString(pieces[r.IntN(len(pieces))])
		tmpl, q := b.String(), questions[r.IntN(len(questions))]
		args := []any{q}
		for _, n := range nums {
			args = append(args, n)
		}
		require.Equal(t, fmt.Sprintf(tmpl, args...), fill(tmpl, q, nums...), "%q", tmpl)
	}
}

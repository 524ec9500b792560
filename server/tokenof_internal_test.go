package server

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestTokenOfMatchesRegexps checks tokenOf against the regexps it replaces.
func TestTokenOfMatchesRegexps(t *testing.T) {
	t.Parallel()
	cases := []string{"", "a", "deb_01m8dkwp16ggz79g0862dnr703", "a b", "a:b", "a\n", "é", "a/b",
		strings.Repeat("a", 64), strings.Repeat("a", 65), strings.Repeat("b", 128), strings.Repeat("b", 129)}
	const alphabet = "azAZ09._-:/ \n\x00\xffé+"
	rng := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		n := rng.IntN(140)
		var b strings.Builder
		for range n {
			if rng.IntN(20) == 0 {
				b.WriteByte(alphabet[rng.IntN(len(alphabet))])
			} else {
				b.WriteByte("abcXYZ019._-"[rng.IntN(12)])
			}
		}
		cases = append(cases, b.String())
	}
	for _, c := range cases {
		assert.Equal(t, pathIDRE.MatchString(c), tokenOf(c, 64, false), "path id %q", c)
		assert.Equal(t, corrRE.MatchString(c), tokenOf(c, 128, true), "correlation id %q", c)
	}
}

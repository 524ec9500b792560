package similarity_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/aragora/aragora/similarity"
)

func TestClamp01(t *testing.T) {
	t.Parallel()
	for in, want := range map[float64]float64{-1: 0, 0: 0, 0.25: 0.25, 1: 1, 7: 1, math.Inf(1): 1, math.Inf(-1): 0} {
		assert.Equal(t, want, similarity.Clamp01(in), "%v", in)
	}
	assert.Equal(t, 0.0, similarity.Clamp01(math.NaN()))
}

func TestWordIndex(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s, word string
		want    int
	}{
		{"option a wins", "a", 7},
		{"a", "a", 0},
		{"banana a", "a", 7},
		{"café au lait", "caf", -1},
		{"naïve, au", "au", 8},
		{"x1 x", "x", 3},
		{"", "a", -1},
		{"ab", "abc", -1},
	} {
		assert.Equal(t, tc.want, similarity.WordIndex(tc.s, tc.word), "%q in %q", tc.word, tc.s)
	}
}

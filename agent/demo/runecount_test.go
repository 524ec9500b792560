package demo

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// TestRuneCountMatchesUTF8 compares runeCount with utf8.RuneCountInString
// on random strings of ASCII runs, multi-byte runes and invalid or
// truncated sequences, at every alignment.
func TestRuneCountMatchesUTF8(t *testing.T) {
	t.Parallel()
	pieces := []string{"a", "abcdefgh", "the quick brown fox ", "é", "中", "’", "\U0001F600", "\xff", "\xe2\x82",
		"\x80", "\xc3", "\xf0\x9f\x98", "\x00", "\x7f", strings.Repeat("x", 17)}
	for _, s := range randomStrings(rand.NewPCG(13, 5), 3000, 12, pieces) {
		requireRuneCounts(t, s)
		require.Equal(t, utf8.RuneCountInString(s), runeCount(s), "%q", s)
	}
}

// randomStrings returns n strings, each the concatenation of fewer than
// most pieces drawn from src.
func randomStrings(src rand.Source, n, most int, pieces []string) []string {
	r := rand.New(src)
	out := make([]string, n)
	for k := range out {
		var b strings.Builder
		for range r.IntN(most) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		out[k] = b.String()
	}
	return out
}

// requireRuneCounts compares runeCount with utf8.RuneCountInString on s
// from each of its first 9 bytes.
func requireRuneCounts(t *testing.T, s string) {
	t.Helper()
	for i := range min(len(s), 9) {
		require.Equal(t, utf8.RuneCountInString(s[i:]), runeCount(s[i:]), "%q", s[i:])
	}
}

// TestRuneCountLongRuns compares runeCount with utf8.RuneCountInString on
// long ASCII runs (the 64-byte steps) broken by multi-byte and invalid
// sequences, at every alignment.
func TestRuneCountLongRuns(t *testing.T) {
	t.Parallel()
	pieces := []string{strings.Repeat("x", 63), strings.Repeat("y", 64), strings.Repeat("z", 130), "é", "\xff", "\xe2\x82", "\U0001F600", "a"}
	for _, s := range randomStrings(rand.NewPCG(17, 6), 1000, 10, pieces) {
		requireRuneCounts(t, s)
	}
}

// TestCollapseSpacesMatchesFields compares collapseSpaces with
// strings.Join(strings.Fields(s), " ") on random strings of words and
// every kind of space (ASCII, U+0085, U+00A0, U+2003) and invalid bytes.
func TestCollapseSpacesMatchesFields(t *testing.T) {
	t.Parallel()
	pieces := []string{"a", "word", "é", " ", "  ", "\t", "\n", "\v", "\f", "\r", "\u0085", "\u00a0", "\u2003", "\xff", "\xc2", "."}
	for _, s := range randomStrings(rand.NewPCG(21, 22), 5000, 8, pieces) {
		require.Equal(t, strings.Join(strings.Fields(s), " "), collapseSpaces(s), "%q", s)
	}
}

package demo

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
)

// referenceSentence is firstSentence as the definition has it: the first
// sentence end of the collapsed text, cut as snippet cuts it.
func referenceSentence(text string, limit int) string {
	text = strings.Join(strings.Fields(text), " ")
	for i := 0; i < len(text); i++ {
		if (text[i] == '.' || text[i] == '!' || text[i] == '?') && (i+1 == len(text) || text[i+1] == ' ') {
			text = text[:i+1]
			break
		}
	}
	return cut(text, limit)
}

// sentencePieces are the pieces of TestFirstSentenceMatchesReference's
// texts: words, sentence ends, every kind of space, control and invalid
// bytes.
var sentencePieces = []string{"a", "word", "é", "中", " ", "  ", "\t", "\n", "\v", "\f", "\r", "\u0085", "\u00a0", "\u2003",
	"\xff", "\xc2", "\x00", "\x7f", ".", "!", "?", ". ", "?\n", strings.Repeat("x", 30)}

// TestFirstSentenceMatchesReference compares firstSentence with
// referenceSentence on random texts, at limits below and above their
// lengths.
func TestFirstSentenceMatchesReference(t *testing.T) {
	t.Parallel()
	for _, s := range randomStrings(rand.NewPCG(31, 32), 20000, 10, sentencePieces) {
		for _, limit := range []int{3, 12, issueQuoteRunes} {
			require.Equal(t, referenceSentence(s, limit), firstSentence(s, limit), "%q %d", s, limit)
		}
	}
}

func FuzzFirstSentence(f *testing.F) {
	for _, s := range []string{"", "One. Two.", " a  b. c", "a.\nb", "é\u00a0x! y", "\xff. \x00"} {
		f.Add(s, 12)
	}
	f.Fuzz(func(t *testing.T, s string, limit int) {
		limit = 1 + min(max(limit, 0), 300)
		require.Equal(t, referenceSentence(s, limit), firstSentence(s, limit), "%q %d", s, limit)
		require.Equal(t, strings.Join(strings.Fields(s), " "), collapseSpaces(s), "%q", s)
	})
}

func FuzzRuneCount(f *testing.F) {
	for _, s := range []string{"", "abc", strings.Repeat("x", 140) + "é", "–×…\xff\xe2\x82", strings.Repeat("a\u2013", 70)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for i := range min(len(s), 9) {
			require.Equal(t, utf8.RuneCountInString(s[i:]), runeCount(s[i:]), "%q", s[i:])
		}
	})
}

// TestSystemSlotsDiffer checks that the phases' system prompt counts have
// a slot each (Agent.systems).
func TestSystemSlotsDiffer(t *testing.T) {
	t.Parallel()
	var a Agent
	seen := map[int]agent.Phase{}
	for _, p := range agent.Phases {
		k := len(p) % len(a.systems)
		require.NotContains(t, seen, k, "%s and %s", p, seen[k])
		seen[k] = p
	}
}

package evidence

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// countAll counts every marker of text as Score does.
func countAll(text string) counts {
	a := analyze(text, 0)
	return a.markers(text)
}

// refScore is Score as it was before the one-pass analysis: words and
// years from a rune loop, markers from the (?i) regular expressions,
// assertions from Assertions; combined as Score combines them.
func refScore(text string, now time.Time, w Weights) Scores {
	words, temp := refWordsAndTemporal(text, now.UTC().Year())
	if words == 0 {
		return Scores{}
	}
	a := textStats{words: words, temporal: temp, assertions: len(Assertions(text))}
	return a.score(foldingCounts(text), w)
}

func refWordsAndTemporal(text string, year int) (words int, temporal float64) {
	found := false
	var sum, n float64
	start := -1
	end := func(i int) {
		words++
		w := text[start:i]
		if len(w) != 4 || w[0] < '0' || w[0] > '9' {
			return
		}
		y, err := strconv.Atoi(w)
		if err != nil || y < 1900 || y > 2099 {
			return
		}
		found = true
		if age := max(0, year-y); age <= 10 {
			sum += float64(age)
			n++
		}
	}
	for i, r := range text {
		word := isWord(r)
		switch {
		case word && start < 0:
			start = i
		case !word && start >= 0:
			end(i)
			start = -1
		}
	}
	if start >= 0 {
		end(len(text))
	}
	switch {
	case !found:
		return words, 0.8
	case n == 0:
		return words, 0.3
	}
	return words, clamp01(1 - sum/n/10)
}

// requireSameScore checks Score against refScore, bit for bit.
func requireSameScore(t *testing.T, text string) {
	t.Helper()
	for _, now := range []time.Time{time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC)} {
		got, want := Score(text, now, Weights{}), refScore(text, now, Weights{})
		require.Equal(t, bits(want), bits(got), "%q", text)
		a := analyze(text, now.Year())
		require.Equal(t, len(Assertions(text)), a.assertions, "assertions of %q", text)
		words, temp := refWordsAndTemporal(text, now.Year())
		require.Equal(t, words, a.words, "words of %q", text)
		require.Equal(t, math.Float64bits(temp), math.Float64bits(a.temporal), "temporal of %q", text)
	}
}

func bits(s Scores) [6]uint64 {
	return [6]uint64{math.Float64bits(s.Citation), math.Float64bits(s.Specificity), math.Float64bits(s.Diversity),
		math.Float64bits(s.Temporal), math.Float64bits(s.Reasoning), math.Float64bits(s.Overall)}
}

// scorePieces build random texts: markers in every case, years, numbers,
// sentence ends, Unicode spaces, letters, digits and punctuation, folding
// runes and invalid UTF-8.
var scorePieces = []string{
	"According", "to", "SOURCE:", "doi:10.", "For", "Example", "E.G.", "e. g.", "Thus", "because", "Generally", "MIGHT",
	"percent", "%", "5", "2,000", "3.5", "1..2", "3x", "3X", "×", "ms", "Seconds", "GB", "[1]", "[2 – 3]", "(Smith",
	"2024)", "(Lee Et Al., 2021A)", "increased", "BY", "$", "€", "£", "é", "É", "—", "’", "Kelvin", "\u212a", "ſ",
	"Specifically", "in", "practice", "HTTPS://X.org/a", "Http://", "2025", "1999", "2099", "2100", "1900", "12345",
	"v2024", "2024x", "٣", "2024٣", "²", "中文", ".", "!", "?", "...", "?!", "\u00a0", "\u2003", "\u0085", "\v",
	"\xff", "\xe2\x82", "a", "is", "the", "long sentence with many words in it",
}

func randomScoreText(r *rand.Rand) string {
	var b strings.Builder
	for range r.IntN(40) {
		b.WriteString(scorePieces[r.IntN(len(scorePieces))])
		b.WriteString([]string{" ", "  ", "", "\t", "\n", ", ", ". ", "? ", "! ", ".\u00a0", "\u2028"}[r.IntN(11)])
	}
	return b.String()
}

// TestScoreMatchesReference compares the one-pass Score with refScore on
// edge cases, the debate proposals of testdata and seeded random texts.
func TestScoreMatchesReference(t *testing.T) {
	t.Parallel()
	texts := []string{"", " ", "2024", " 2024 ", "2024.", "é2024", "2024é", "a. b", "Is it? Yes. ", "\u00a0 Lead.",
		"Trailing space.  \u00a0", "x\xffy 2024", "…", "Ünïcode Therefore ÉTÉ in 2021 [1].", "A sentence of exactly 21."}
	texts = append(texts, proposalTexts(t)...)
	r := rand.New(rand.NewPCG(7, 8))
	for range 3000 {
		texts = append(texts, randomScoreText(r))
	}
	for _, text := range texts {
		requireSameScore(t, text)
	}
}

func FuzzScoreMatchesReference(f *testing.F) {
	r := rand.New(rand.NewPCG(9, 10))
	for range 20 {
		f.Add(randomScoreText(r))
	}
	f.Fuzz(func(t *testing.T, text string) {
		requireSameScore(t, text)
	})
}

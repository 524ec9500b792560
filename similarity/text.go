package similarity

import (
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Clamp01 returns v limited to [0, 1]; NaN is 0. Every score of this
// package passes through it, and so does a consensus confidence.
func Clamp01(v float64) float64 {
	switch {
	case math.IsNaN(v) || v < 0:
		return 0
	case v > 1:
		return 1
	}
	return v
}

// WordIndex returns the byte offset of the first occurrence of word in s
// that is not preceded or followed by a Unicode letter or digit, or -1.
func WordIndex(s, word string) int {
	for from := 0; from <= len(s)-len(word); {
		i := strings.Index(s[from:], word)
		if i < 0 {
			return -1
		}
		at, end := from+i, from+i+len(word)
		before, _ := utf8.DecodeLastRuneInString(s[:at])
		after, _ := utf8.DecodeRuneInString(s[end:])
		if (at == 0 || !IsWordRune(before)) && (end == len(s) || !IsWordRune(after)) {
			return at
		}
		_, size := utf8.DecodeRuneInString(s[at:])
		from = at + size
	}
	return -1
}

// IsWordRune reports whether r is part of a word: a Unicode letter or digit.
func IsWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

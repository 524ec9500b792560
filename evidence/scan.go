package evidence

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The marker scanner: hand-written matchers for the marker expressions
// (see the Exprs variables in score.go), used on text whose letters were
// lower-cased (countAll). Each matcher returns the end of the
// leftmost-longest match of its expression that starts at a given offset.
// For every expression that end is unique: the expressions are sequences
// of disjoint character classes (digits, separators, whitespace, letters,
// literals), so a longer or shorter run at any step leaves a character
// that the next step cannot take. Given those ends, scanCounts repeats
// what findAll does with package regexp (leftmost match from a position,
// word-boundary check, restart after the match or after its first rune),
// so the counts are the same, without regexp's backtracking
// (docs/BENCHMARKS.md).

// marker is one expression: its candidates start with prefix (a literal
// every match begins with) or, without prefix, with a byte of first.
type marker struct {
	prefix string
	first  *[256]bool
	match  func(s string, i int) int // end of the longest match at i, or -1
}

// byteSet returns the set of the bytes of s.
func byteSet(s string) *[256]bool {
	var set [256]bool
	for i := range len(s) {
		set[s[i]] = true
	}
	return &set
}

// The marker kinds, in the order of kinds.
const (
	kindCitation = iota
	kindData
	kindExample
	kindHedge
	kindPrecision
	kindReasoning
	numKinds
)

// kinds lists the markers of each kind.
var kinds = [numKinds][]marker{citationMarkers, dataMarkers, exampleMarkers, hedgeMarkers, precisionMarkers, reasoningMarkers}

// numMarkers is the number of markers of every kind.
const numMarkers = 6 + 9 + 7 + 18 + 8 + 10

// candidate is a marker that may match where a byte occurs: one whose
// prefix starts with that byte, or whose first set holds it.
type candidate struct {
	m    *marker
	kind uint8
	id   uint8 // the marker's number over every kind
}

// byFirstByte lists, for each byte, the candidates of an offset holding it,
// in kind order then marker order.
var byFirstByte = func() *[256][]candidate {
	var t [256][]candidate
	id := 0
	for k := range kinds {
		for i := range kinds[k] {
			m := &kinds[k][i]
			c := candidate{m: m, kind: uint8(k), id: uint8(id)}
			id++
			if m.prefix != "" {
				t[m.prefix[0]] = append(t[m.prefix[0]], c)
				continue
			}
			for b := range 256 {
				if m.first[b] {
					t[b] = append(t[b], c)
				}
			}
		}
	}
	if id != numMarkers {
		panic("evidence: numMarkers is out of date")
	}
	return &t
}()

// scanCounts counts every marker of text, which must be valid UTF-8 with
// lower-case ASCII letters and only caseless non-ASCII runes.
//
// It reads the text once, offset by offset, and tries at each offset the
// markers that can start there. Per marker this is findAll's loop (the
// leftmost match from a position, the word-boundary check, the restart
// after the match or after its first rune): the candidates of one marker
// come in increasing order, and those before its restart position are
// skipped. A kind counts its matches once per start offset
// (citations, data, examples), per occurrence (precision, reasoning), or
// per marker with at least one match (hedges); offsets come in increasing
// order, so distinct starts need no sorting.
func scanCounts(t string) counts {
	var next [numMarkers]int // per marker, where its search resumes
	var found [numMarkers]bool
	var n, last [numKinds]int
	for k := range last {
		last[k] = -1
	}
	for at := range len(t) {
		b := t[at]
		cands := byFirstByte[b]
		if len(cands) == 0 {
			continue
		}
		// A match that starts with a word rune right after one is not
		// bounded, and a match that is not bounded only moves its marker's
		// search to the next rune: such a start changes nothing.
		if isWordByte(b) && at > 0 && wordBefore(t, at) {
			continue
		}
		for _, c := range cands {
			m := c.m
			if at < next[c.id] || m.prefix != "" && !strings.HasPrefix(t[at:], m.prefix) {
				continue
			}
			end := m.match(t, at)
			if end < 0 {
				continue
			}
			if !bounded(t, at, end) {
				_, size := utf8.DecodeRuneInString(t[at:])
				next[c.id] = at + max(size, 1)
				continue
			}
			next[c.id] = end
			switch c.kind {
			case kindCitation, kindData, kindExample:
				if last[c.kind] != at {
					last[c.kind] = at
					n[c.kind]++
				}
			case kindHedge:
				if !found[c.id] {
					found[c.id] = true
					n[kindHedge]++
				}
			default:
				n[c.kind]++
			}
		}
	}
	return counts{
		citations:   n[kindCitation],
		data:        n[kindData],
		examples:    n[kindExample],
		hedges:      n[kindHedge],
		numbers:     countNumbers(t),
		precision:   n[kindPrecision],
		connectives: n[kindReasoning],
	}
}

// countNumbers counts the maximal runs of [0-9]+(?:[.,][0-9]+)*.
func countNumbers(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if !isDigitByte(s[i]) {
			i++
			continue
		}
		i = number(s, i)
		n++
	}
	return n
}

// ---- building blocks ----

// isWordByte reports whether the ASCII byte c is a letter or a digit.
func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// wordBefore reports whether the rune that ends at offset at (> 0) of s
// is part of a word, as bounded decides it.
func wordBefore(s string, at int) bool {
	if c := s[at-1]; c < utf8.RuneSelf {
		return isWordByte(c)
	}
	r, _ := utf8.DecodeLastRuneInString(s[:at])
	return isWord(r)
}

func isDigitByte(c byte) bool { return '0' <= c && c <= '9' }

// isSpace is regexp's \s: [\t\n\f\r ].
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

// spaces skips \s*.
func spaces(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

// digits skips [0-9]*.
func digits(s string, i int) int {
	for i < len(s) && isDigitByte(s[i]) {
		i++
	}
	return i
}

// number returns the end of [0-9]+(?:[.,][0-9]+)* at i, or -1.
func number(s string, i int) int {
	if i >= len(s) || !isDigitByte(s[i]) {
		return -1
	}
	i = digits(s, i)
	for i+1 < len(s) && (s[i] == '.' || s[i] == ',') && isDigitByte(s[i+1]) {
		i = digits(s, i+1)
	}
	return i
}

// runs skips the runes for which in is true and returns the end, or -1
// when there is none.
func runs(s string, i int, in func(rune) bool) int {
	start := i
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !in(r) {
			break
		}
		i += size
	}
	if i == start {
		return -1
	}
	return i
}

func letterOrNumber(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }

// nameRune is [\p{L}'’.-].
func nameRune(r rune) bool {
	return unicode.IsLetter(r) || r == '\'' || r == '’' || r == '.' || r == '-'
}

// name returns the end of \p{L}[\p{L}'’.-]* at i, or -1.
func name(s string, i int) int {
	if i >= len(s) {
		return -1
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	if !unicode.IsLetter(r) {
		return -1
	}
	if e := runs(s, i+size, nameRune); e >= 0 {
		return e
	}
	return i + size
}

// currency returns the end of [$€£] at i, or -1.
func currency(s string, i int) int {
	for _, c := range []string{"$", "€", "£"} {
		if strings.HasPrefix(s[i:], c) {
			return i + len(c)
		}
	}
	return -1
}

// longestOf returns the end of the longest of words at i, or -1.
func longestOf(s string, i int, words ...string) int {
	end := -1
	for _, w := range words {
		if strings.HasPrefix(s[i:], w) {
			end = max(end, i+len(w))
		}
	}
	return end
}

// phrase matches words separated by \s+ (the first at i).
func phrase(words ...string) marker {
	return marker{prefix: words[0], match: func(s string, i int) int {
		i += len(words[0])
		for _, w := range words[1:] {
			j := spaces(s, i)
			if j == i || !strings.HasPrefix(s[j:], w) {
				return -1
			}
			i = j + len(w)
		}
		return i
	}}
}

// phrases returns one phrase marker per expression of words separated by
// single spaces.
func phrases(exprs ...string) []marker {
	out := make([]marker, len(exprs))
	for i, e := range exprs {
		out[i] = phrase(strings.Fields(e)...)
	}
	return out
}

var digitSet = byteSet("0123456789")

// numberThen matches a number followed by what tail matches at its end.
func numberThen(tail func(s string, e int) int) marker {
	return marker{first: digitSet, match: func(s string, i int) int {
		if e := number(s, i); e >= 0 {
			return tail(s, e)
		}
		return -1
	}}
}

var accordingTo = phrase("according", "to")

// ---- the markers ----

var citationMarkers = []marker{
	// \[\s*[0-9]+(?:\s*[,;–-]\s*[0-9]+)*\s*\]
	{prefix: "[", match: func(s string, i int) int {
		i = spaces(s, i+1)
		if i >= len(s) || !isDigitByte(s[i]) {
			return -1
		}
		i = digits(s, i)
		for {
			j := spaces(s, i)
			k := longestOf(s, j, ",", ";", "–", "-")
			if k < 0 {
				if j < len(s) && s[j] == ']' {
					return j + 1
				}
				return -1
			}
			k = spaces(s, k)
			if k >= len(s) || !isDigitByte(s[k]) {
				return -1
			}
			i = digits(s, k)
		}
	}},
	// \(\s*\p{L}[\p{L}'’.-]*(?:\s+(?:and|&)\s+\p{L}[\p{L}'’.-]*)?(?:\s+et\s+al\.?)?,?\s+[0-9]{4}[a-z]?\s*\)
	{prefix: "(", match: func(s string, i int) int {
		j := name(s, spaces(s, i+1))
		if j < 0 {
			return -1
		}
		if k := spaces(s, j); k > j {
			if a := longestOf(s, k, "and", "&"); a >= 0 {
				if m := spaces(s, a); m > a {
					if e := name(s, m); e >= 0 {
						j = e
					}
				}
			}
		}
		if k := spaces(s, j); k > j && strings.HasPrefix(s[k:], "et") {
			if m := spaces(s, k+2); m > k+2 && strings.HasPrefix(s[m:], "al") {
				j = m + 2
				if j < len(s) && s[j] == '.' {
					j++
				}
			}
		}
		if j < len(s) && s[j] == ',' {
			j++
		}
		k := spaces(s, j)
		if k == j || digits(s, k) < k+4 {
			return -1
		}
		k += 4
		if k < len(s) && 'a' <= s[k] && s[k] <= 'z' {
			k++
		}
		k = spaces(s, k)
		if k < len(s) && s[k] == ')' {
			return k + 1
		}
		return -1
	}},
	// according\s+to\s+[\p{L}\p{N}]+
	{prefix: "according", match: func(s string, i int) int {
		e := accordingTo.match(s, i)
		if e < 0 {
			return -1
		}
		j := spaces(s, e)
		if j == e {
			return -1
		}
		return runs(s, j, letterOrNumber)
	}},
	// https?://[^\s<>()\[\]"']+
	{prefix: "http", match: func(s string, i int) int {
		i += len("http")
		if i < len(s) && s[i] == 's' {
			i++
		}
		if !strings.HasPrefix(s[i:], "://") {
			return -1
		}
		i += 3
		start := i
		for i < len(s) && !isSpace(s[i]) && !strings.ContainsRune(`<>()[]"'`, rune(s[i])) {
			i++
		}
		if i == start {
			return -1
		}
		return i
	}},
	// doi:\s*10\.
	{prefix: "doi:", match: func(s string, i int) int {
		j := spaces(s, i+4)
		if !strings.HasPrefix(s[j:], "10.") {
			return -1
		}
		return j + 3
	}},
	// source:\s*[\p{L}\p{N}]+
	{prefix: "source:", match: func(s string, i int) int {
		return runs(s, spaces(s, i+len("source:")), letterOrNumber)
	}},
}

var dataMarkers = []marker{
	// [0-9]+(?:[.,][0-9]+)*\s*(?:%|percent)
	numberThen(func(s string, e int) int { return longestOf(s, spaces(s, e), "%", "percent") }),
	// [$€£]\s*[0-9]+
	{first: byteSet("$€£"), match: func(s string, i int) int {
		j := currency(s, i)
		if j < 0 {
			return -1
		}
		j = spaces(s, j)
		if e := digits(s, j); e > j {
			return e
		}
		return -1
	}},
	// [0-9]+(?:[.,][0-9]+)*\s*(?:ms|s|secs?|seconds?|minutes?|hours?|days?|weeks?)
	numberThen(func(s string, e int) int {
		return longestOf(s, spaces(s, e), "ms", "s", "sec", "secs", "second", "seconds", "minute", "minutes",
			"hour", "hours", "day", "days", "week", "weeks")
	}),
	// [0-9]+(?:[.,][0-9]+)*\s*(?:kb|mb|gb|tb)
	numberThen(func(s string, e int) int { return longestOf(s, spaces(s, e), "kb", "mb", "gb", "tb") }),
	// [0-9]+(?:[.,][0-9]+)*(?:x|\s*×)
	numberThen(func(s string, e int) int {
		if e < len(s) && s[e] == 'x' {
			return e + 1
		}
		return longestOf(s, spaces(s, e), "×")
	}),
	// (?:increased|decreased|improved|reduced)(?:\s+by)?\s+[$€£]?[0-9]+,
	// one marker per verb: no verb can start inside another's match, so
	// the restarts after a match skip the same candidates.
	changedBy("increased"), changedBy("decreased"), changedBy("improved"), changedBy("reduced"),
}

// changedBy matches verb(?:\s+by)?\s+[$€£]?[0-9]+.
func changedBy(verb string) marker {
	return marker{prefix: verb, match: func(s string, i int) int {
		j := i + len(verb)
		k := spaces(s, j)
		if k == j {
			return -1
		}
		if strings.HasPrefix(s[k:], "by") {
			// (?:\s+by)? must be taken: without it "b" cannot start [$€£]?[0-9]+.
			m := spaces(s, k+2)
			if m == k+2 {
				return -1
			}
			k = m
		}
		if c := currency(s, k); c >= 0 {
			k = c
		}
		if e := digits(s, k); e > k {
			return e
		}
		return -1
	}}
}

var (
	exampleMarkers = append(phrases("for example", "for instance", "such as"),
		// e\.\s?g\.
		marker{prefix: "e.", match: func(s string, i int) int {
			i += 2
			if i < len(s) && isSpace(s[i]) {
				i++
			}
			if !strings.HasPrefix(s[i:], "g.") {
				return -1
			}
			return i + 2
		}},
		phrase("specifically"), phrase("in", "practice"), phrase("case", "in", "point"))
	hedgeMarkers = phrases("generally", "typically", "usually", "often", "sometimes", "might", "could potentially",
		"may or may not", "it depends", "in some cases", "various factors", "many considerations", "significant impact",
		"important aspects", "key elements", "best practices", "industry standard", "common approach")
	precisionMarkers = phrases("specifically", "precisely", "exactly", "measured at", "observed in", "documented in",
		"tested with", "verified by")
	reasoningMarkers = phrases("therefore", "thus", "consequently", "because", "since", "given that",
		"it follows that", "this implies", "as a result", "hence")
)

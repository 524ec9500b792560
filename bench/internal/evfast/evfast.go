// Package evfast is a prototype of a faster evidence marker count
// (evidence/score.go), kept under bench to measure the gain before the
// change is made in package evidence. It copies the marker patterns and
// matching rules of evidence/score.go and adds an ASCII fast path: for
// ASCII text it lower-cases the text once and runs the patterns compiled
// without (?i), which lets package regexp use literal-prefix scans and
// skips case folding. Results are identical (TestSameCounts).
package evfast

import (
	"regexp"
	"unicode"
	"unicode/utf8"
)

// Marker expressions, copied from evidence/score.go.
var (
	citationExprs = []string{
		`\[\s*[0-9]+(?:\s*[,;–-]\s*[0-9]+)*\s*\]`, // [1], [2, 3], [4-6]
		// (Smith 2024), (Lee et al., 2021), (Smith and Jones, 2020a)
		`\(\s*\p{L}[\p{L}'’.-]*(?:\s+(?:and|&)\s+\p{L}[\p{L}'’.-]*)?(?:\s+et\s+al\.?)?,?\s+[0-9]{4}[a-z]?\s*\)`,
		`according\s+to\s+[\p{L}\p{N}]+`,
		`https?://[^\s<>()\[\]"']+`,
		`doi:\s*10\.`,
		`source:\s*[\p{L}\p{N}]+`,
	}
	dataExprs = []string{
		`[0-9]+(?:[.,][0-9]+)*\s*(?:%|percent)`,
		`[$€£]\s*[0-9]+`,
		`[0-9]+(?:[.,][0-9]+)*\s*(?:ms|s|secs?|seconds?|minutes?|hours?|days?|weeks?)`,
		`[0-9]+(?:[.,][0-9]+)*\s*(?:kb|mb|gb|tb)`,
		`[0-9]+(?:[.,][0-9]+)*(?:x|\s*×)`,
		`(?:increased|decreased|improved|reduced)(?:\s+by)?\s+[$€£]?[0-9]+`,
	}
	exampleExprs = []string{
		`for\s+example`, `for\s+instance`, `such\s+as`, `e\.\s?g\.`, `specifically`,
		`in\s+practice`, `case\s+in\s+point`,
	}
	hedgeExprs = []string{
		`generally`, `typically`, `usually`, `often`, `sometimes`, `might`, `could\s+potentially`,
		`may\s+or\s+may\s+not`, `it\s+depends`, `in\s+some\s+cases`, `various\s+factors`,
		`many\s+considerations`, `significant\s+impact`, `important\s+aspects`, `key\s+elements`,
		`best\s+practices`, `industry\s+standard`, `common\s+approach`,
	}
	precisionExprs = []string{
		`specifically`, `precisely`, `exactly`,
		`measured\s+at`, `observed\s+in`, `documented\s+in`, `tested\s+with`, `verified\s+by`,
	}
	reasoningExprs = []string{
		`therefore`, `thus`, `consequently`, `because`, `since`, `given\s+that`,
		`it\s+follows\s+that`, `this\s+implies`, `as\s+a\s+result`, `hence`,
	}
	numberExpr = `[0-9]+(?:[.,][0-9]+)*`
)

func compile(exprs ...string) []*regexp.Regexp { return compileFlags(`(?i)`, exprs...) }

func compileFlags(flags string, exprs ...string) []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(exprs))
	for i, e := range exprs {
		out[i] = regexp.MustCompile(flags + e)
		out[i].Longest() // "5 seconds" must not stop at "5 s"
	}
	return out
}

// isWord reports whether r is part of a word (a Unicode letter or digit).
func isWord(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// findAll returns the start offsets of every match of re in s that sits at
// word boundaries: when the match begins (ends) with a letter or digit, the
// rune before (after) it must not be one. A rejected match does not hide a
// later, overlapping one.
func findAll(re *regexp.Regexp, s string) []int {
	var starts []int
	for pos := 0; pos <= len(s); {
		loc := re.FindStringIndex(s[pos:])
		if loc == nil {
			break
		}
		start, end := pos+loc[0], pos+loc[1]
		if bounded(s, start, end) {
			starts = append(starts, start)
			if end > start {
				pos = end
				continue
			}
		}
		_, size := utf8.DecodeRuneInString(s[start:])
		pos = start + max(size, 1)
	}
	return starts
}

func bounded(s string, start, end int) bool {
	if start == end {
		return false
	}
	first, _ := utf8.DecodeRuneInString(s[start:end])
	last, _ := utf8.DecodeLastRuneInString(s[start:end])
	if isWord(first) && start > 0 {
		if prev, _ := utf8.DecodeLastRuneInString(s[:start]); isWord(prev) {
			return false
		}
	}
	if isWord(last) && end < len(s) {
		if next, _ := utf8.DecodeRuneInString(s[end:]); isWord(next) {
			return false
		}
	}
	return true
}

// countMarkers counts the matches of one marker kind, once per start offset.
func countMarkers(res []*regexp.Regexp, s string) int {
	seen := make(map[int]struct{})
	for _, re := range res {
		for _, at := range findAll(re, s) {
			seen[at] = struct{}{}
		}
	}
	return len(seen)
}

// countOccurrences counts every bounded match of every pattern.
func countOccurrences(res []*regexp.Regexp, s string) int {
	n := 0
	for _, re := range res {
		n += len(findAll(re, s))
	}
	return n
}

// countDistinct counts the patterns that match at least once.
func countDistinct(res []*regexp.Regexp, s string) int {
	n := 0
	for _, re := range res {
		if len(findAll(re, s)) > 0 {
			n++
		}
	}
	return n
}

// patterns is one compiled set of the marker patterns.
type patterns struct {
	citation, data, example, hedge, precision, reasoning []*regexp.Regexp
	number                                               *regexp.Regexp
}

func newPatterns(flags string) *patterns {
	return &patterns{
		citation: compileFlags(flags, citationExprs...), data: compileFlags(flags, dataExprs...),
		example: compileFlags(flags, exampleExprs...), hedge: compileFlags(flags, hedgeExprs...),
		precision: compileFlags(flags, precisionExprs...), reasoning: compileFlags(flags, reasoningExprs...),
		number: regexp.MustCompile(numberExpr),
	}
}

// Counts are the marker counts Score derives its components from.
type Counts struct {
	Citations, Data, Examples, Hedges, Specific, Connectives int
}

// Counter counts evidence markers. It is immutable and safe for concurrent
// use; create it with New.
type Counter struct {
	fold, ascii *patterns
}

// New compiles both pattern sets.
func New() *Counter { return &Counter{fold: newPatterns(`(?i)`), ascii: newPatterns(``)} }

// Slow counts markers exactly as evidence.Score does today.
func (c *Counter) Slow(text string) Counts { return count(c.fold, text) }

// Fast counts the same markers, with the fast path: when every non-ASCII
// rune of text is caseless (punctuation such as "—" or "’"; no letter with
// a case variant, no Kelvin sign or long s, which fold to ASCII letters),
// lower-casing the ASCII letters preserves every byte offset and word
// boundary, and (?i) matching equals case-sensitive matching of the
// lower-cased patterns.
func (c *Counter) Fast(text string) Counts {
	for i := 0; i < len(text); {
		if text[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if unicode.SimpleFold(r) != r {
			return count(c.fold, text)
		}
		i += size
	}
	return count(c.ascii, asciiLower(text))
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, ch := range b {
		if 'A' <= ch && ch <= 'Z' {
			b[i] = ch + 'a' - 'A'
		}
	}
	return string(b)
}

func count(p *patterns, text string) Counts {
	return Counts{
		Citations:   countMarkers(p.citation, text),
		Data:        countMarkers(p.data, text),
		Examples:    countMarkers(p.example, text),
		Hedges:      countDistinct(p.hedge, text),
		Specific:    len(p.number.FindAllStringIndex(text, -1)) + countOccurrences(p.precision, text),
		Connectives: countOccurrences(p.reasoning, text),
	}
}

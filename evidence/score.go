package evidence

import (
	"math"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Marker expressions (docs/debate.md#evidence-and-the-trickster). All are matched case-insensitively
// and leftmost-longest; matches are accepted only at word boundaries
// (Unicode-aware, see findAll).
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
)

// patterns is the compiled set of the marker expressions, case-insensitive
// ((?i)), compiled on first use and only read. It counts the markers of
// texts the scanner of scan.go does not take (see analyze).
type patterns struct {
	citation, data, example, hedge, precision, reasoning []*regexp.Regexp
	number                                               *regexp.Regexp
}

var foldingPatterns = sync.OnceValue(func() *patterns { return newPatterns(`(?i)`) })

func newPatterns(flags string) *patterns {
	return &patterns{
		citation: compile(flags, citationExprs), data: compile(flags, dataExprs),
		example: compile(flags, exampleExprs), hedge: compile(flags, hedgeExprs),
		precision: compile(flags, precisionExprs), reasoning: compile(flags, reasoningExprs),
		number: regexp.MustCompile(`[0-9]+(?:[.,][0-9]+)*`),
	}
}

func compile(flags string, exprs []string) []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(exprs))
	for i, e := range exprs {
		out[i] = regexp.MustCompile(flags + e)
		out[i].Longest() // "5 seconds" must not stop at "5 s"
	}
	return out
}

// counts are the marker counts Score derives its components from.
type counts struct {
	citations, data, examples, hedges, numbers, precision, connectives int
}

// foldingCounts counts every marker of text with the (?i) expressions.
func foldingCounts(text string) counts {
	p := foldingPatterns()
	return counts{
		citations:   countMarkers(p.citation, text),
		data:        countMarkers(p.data, text),
		examples:    countMarkers(p.example, text),
		hedges:      countDistinct(p.hedge, text),
		numbers:     len(p.number.FindAllStringIndex(text, -1)),
		precision:   countOccurrences(p.precision, text),
		connectives: countOccurrences(p.reasoning, text),
	}
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
	if first, last := s[start], s[end-1]; first < utf8.RuneSelf && last < utf8.RuneSelf {
		// ASCII at both ends: a byte below RuneSelf is a rune of its own.
		return !(isWordByte(first) && start > 0 && wordBefore(s, start)) &&
			!(isWordByte(last) && end < len(s) && wordAt(s, end))
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

// Sentences splits text at runs of '.', '!' or '?' that are followed by
// whitespace or the end of the text. Each sentence keeps its terminating
// run and is trimmed of surrounding whitespace; empty sentences are dropped.
func Sentences(text string) []string {
	var out []string
	sentences(text, func(s string) { out = append(out, s) })
	return out
}

// sentences calls fn with each sentence of text, as Sentences returns them.
func sentences(text string, fn func(string)) {
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			fn(s)
		}
	}
	start := 0
	for i := 0; i < len(text); {
		c := text[i]
		if c != '.' && c != '!' && c != '?' {
			i++
			continue
		}
		j := i
		for j < len(text) && (text[j] == '.' || text[j] == '!' || text[j] == '?') {
			j++
		}
		next, _ := utf8.DecodeRuneInString(text[j:])
		if j == len(text) || unicode.IsSpace(next) {
			add(text[start:j])
			start = j
		}
		i = j
	}
	add(text[start:])
}

// isAssertion reports whether sentence s is an assertion: longer than 20
// runes and not ending with '?'.
func isAssertion(s string) bool {
	return utf8.RuneCountInString(s) > 20 && !strings.HasSuffix(s, "?")
}

// Assertions returns the sentences of text that are longer than 20 runes
// and do not end with '?'.
func Assertions(text string) []string {
	var out []string
	sentences(text, func(s string) {
		if isAssertion(s) {
			out = append(out, s)
		}
	})
	return out
}

// Score rates the evidence quality of text (docs/debate.md#evidence-and-the-trickster). now gives the
// current year (in UTC) for the temporal component; w weights Overall (the
// zero value means the defaults; invalid weights are the caller's error, see
// Weights.Validate). A text without any letter or digit scores 0 on every
// component, Overall included.
//
//   - Citation: min(#citation markers, #assertions) / #assertions.
//   - Specificity: S / (V + S), 0.5 when both are 0, with V the number of
//     distinct hedging phrases and S the count of numbers and precise terms.
//   - Diversity: the number of marker kinds present (citation, data,
//     example) / 3.
//   - Reasoning: min(1, C / max(1, words/100)), C the count of connectives.
//   - Temporal: 0.8 without years (standalone 1900–2099); 0.3 when no year
//     is at most 10 years old; else clamp(1 − mean age/10, 0, 1) over every
//     occurrence of a year at most 10 years old.
func Score(text string, now time.Time, w Weights) Scores {
	a := analyze(text, now.UTC().Year())
	if a.words == 0 {
		return Scores{}
	}
	return a.score(a.markers(text), w)
}

// score combines the analysis of a text that has words and its marker
// counts m into Scores.
func (a *textStats) score(m counts, w Weights) Scores {
	var s Scores
	citations, data, examples := m.citations, m.data, m.examples
	if n := a.assertions; n > 0 {
		s.Citation = float64(min(citations, n)) / float64(n)
	}

	v, sp := m.hedges, m.numbers+m.precision
	if v+sp == 0 {
		s.Specificity = 0.5
	} else {
		s.Specificity = float64(sp) / float64(v+sp)
	}

	kinds := 0
	for _, n := range []int{citations, data, examples} {
		if n > 0 {
			kinds++
		}
	}
	s.Diversity = float64(kinds) / 3

	c := m.connectives
	s.Reasoning = math.Min(1, float64(c)/math.Max(1, float64(a.words)/100))

	s.Temporal = a.temporal
	s.Overall = w.withDefaults().overall(s)
	return s
}

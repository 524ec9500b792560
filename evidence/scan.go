package evidence

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The marker scanner: hand-written matchers for the marker expressions
// (see the Exprs variables in score.go), used on text whose non-ASCII runes
// are caseless (analyze). Matchers read the text through lowerByte, so they
// see it as if its ASCII letters were lower-cased, which for such a text is
// what case-insensitive matching sees. Each matcher returns the end of the
// leftmost-longest match of its expression that starts at a given offset.
// For every expression that end is unique: the expressions are sequences
// of disjoint character classes (digits, separators, whitespace, letters,
// literals), so a longer or shorter run at any step leaves a character
// that the next step cannot take. Given those ends, the scanner repeats
// what findAll does with package regexp (leftmost match from a position,
// word-boundary check, restart after the match or after its first rune),
// so the counts are the same, without regexp's backtracking
// (docs/BENCHMARKS.md).

// marker is one expression: its candidates start with prefix (a literal
// every match begins with, in lower case) or, without prefix, with a byte
// of first.
type marker struct {
	prefix string
	first  *[256]bool
	match  func(s string, i int) int // end of the longest match at i, or -1
	// tail, set instead of match for a number followed by a suffix, is
	// given the end e of the number at i and the end j of the spaces after
	// it; it returns the end of the suffix, or -1.
	tail func(s string, e, j int) int
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
// prefix starts with that byte (in either case), or whose first set holds it.
type candidate struct {
	// key holds the first bytes of the prefix (up to four, the first in
	// the low byte) and mask the bits of key that count: 0 without a
	// prefix.
	key, mask uint32
	kind      uint8
	id        uint8 // the marker's number over every kind
	long      bool  // the prefix is longer than four bytes
	m         *marker
}

// byFirstByte lists, for each byte, the candidates of an offset holding it,
// in kind order then marker order; an upper-case ASCII letter has the
// candidates of its lower case.
func byFirstByte() *[256][]candidate {
	var t [256][]candidate
	id := 0
	for k := range kinds {
		for i := range kinds[k] {
			m := &kinds[k][i]
			c := candidate{m: m, kind: uint8(k), id: uint8(id), long: len(m.prefix) > 4}
			id++
			if m.prefix != "" {
				for i := range min(4, len(m.prefix)) {
					c.key |= uint32(m.prefix[i]) << (8 * i)
					c.mask |= 0xff << (8 * i)
				}
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
	for b := 'A'; b <= 'Z'; b++ {
		t[b] = t[b+'a'-'A']
	}
	return &t
}

// candidateTable holds the candidates of an offset by its byte and the
// next one: lists[index[group[b]][lower[s]]] has those of byte b that may
// match when s follows (the end of the text counts as a NUL): every
// candidate without a prefix or with a prefix of one byte, and those whose
// prefix continues with s. group[b] is 0 when b has no candidate, and a
// letter shares the group of its other case; list 0 is empty.
type candidateTable struct {
	group [256]uint8
	index [][256]uint8
	lists [][]candidate
}

var candidates = func() *candidateTable {
	first := byFirstByte()
	tab := &candidateTable{index: make([][256]uint8, 1), lists: [][]candidate{nil}}
	for b := range 256 {
		if len(first[b]) == 0 || 'A' <= b && b <= 'Z' {
			continue
		}
		var index [256]uint8
		for s := range 256 {
			var l []candidate
			for _, c := range first[b] {
				if len(c.m.prefix) < 2 || c.m.prefix[1] == byte(s) {
					l = append(l, c)
				}
			}
			index[s] = tab.list(l)
		}
		tab.group[b] = uint8(len(tab.index))
		tab.index = append(tab.index, index)
	}
	for b := 'A'; b <= 'Z'; b++ {
		tab.group[b] = tab.group[b+'a'-'A']
	}
	return tab
}()

// list returns the number of list l in tab.lists, adding it if new.
func (tab *candidateTable) list(l []candidate) uint8 {
	for n, have := range tab.lists {
		if slices.Equal(have, l) {
			return uint8(n)
		}
	}
	if len(tab.lists) > 255 {
		panic("evidence: too many candidate lists")
	}
	tab.lists = append(tab.lists, l)
	return uint8(len(tab.lists) - 1)
}

// at returns the candidates of offset i of t.
func (tab *candidateTable) at(t string, i int) []candidate {
	var s byte
	if i+1 < len(t) {
		s = lower[t[i+1]]
	}
	return tab.lists[tab.index[tab.group[t[i]]][s]]
}

// Byte classes of analyze: an ASCII letter or digit, an ASCII letter, a
// digit, a byte that some candidate starts with, '.', '!' or '?', an ASCII
// white space of unicode.IsSpace, and one of regexp's \s (isSpace: it has
// no \v; resumePoint).
const (
	clWord = 1 << iota
	clLetter
	clDigit
	clFirst
	clEnd
	clSpace
	clS
)

var (
	class = func() (t [256]uint8) {
		for b := range 256 {
			c := byte(b)
			if isWordByte(c) {
				t[b] |= clWord
			}
			if isDigitByte(c) {
				t[b] |= clDigit
			} else if isWordByte(c) {
				t[b] |= clLetter
			}
			if candidates.group[b] != 0 {
				t[b] |= clFirst
			}
			if c == '.' || c == '!' || c == '?' {
				t[b] |= clEnd
			}
			if c < utf8.RuneSelf && unicode.IsSpace(rune(c)) {
				t[b] |= clSpace
			}
			if isSpace(c) {
				t[b] |= clS
			}
		}
		return t
	}()
	lower = func() (t [256]byte) {
		for b := range 256 {
			t[b] = byte(b)
			if 'A' <= b && b <= 'Z' {
				t[b] += 'a' - 'A'
			}
		}
		return t
	}()
)

// lowerByte returns s[i] with an ASCII upper-case letter lowered.
func lowerByte(s string, i int) byte { return lower[s[i]] }

// hasPrefixAt reports whether s[i:], ASCII letters lowered, begins with
// prefix (which has no upper-case ASCII letter).
func hasPrefixAt(s string, i int, prefix string) bool {
	if len(s)-i < len(prefix) {
		return false
	}
	s = s[i : i+len(prefix)]
	for k := range len(prefix) {
		if lower[s[k]] != prefix[k] {
			return false
		}
	}
	return true
}

// textStats is what Score reads of a text, from one pass over it.
type textStats struct {
	words      int     // maximal runs of letters or digits
	temporal   float64 // the temporal component
	assertions int     // len(Assertions(text))
	// fold is set when a non-ASCII rune has a case variant, or a byte
	// is not UTF-8: then the markers are counted by the (?i) expressions.
	fold bool
	counts
}

// markers returns the marker counts of text, whose analysis a is.
func (a *textStats) markers(text string) counts {
	if a.fold {
		return foldingCounts(text)
	}
	return a.counts
}

// scanState is the marker scanner's state: per marker, where its search
// resumes and whether it matched (bit id of found, set for hedges only);
// per kind, the count and the last start counted. far is at least the end
// of every bounded match, so no search resumes beyond it but for one that
// an unbounded match moved past its first rune (what Checkpoint needs to
// know).
type scanState struct {
	next  [numMarkers]int
	found uint64
	n     [numKinds]int
	last  [numKinds]int
	far   int
}

// The markers' found bits fit one word.
var _ [64 - numMarkers]struct{}

// analyze reads text once and returns its word count, temporal component
// (year is the current year), assertion count and, unless a.fold, its
// marker counts.
//
// Words are maximal runs of Unicode letters or digits, as package
// similarity splits text; a year is a word of four ASCII digits in
// 1900–2099. Assertions follow sentences and isAssertion: a sentence ends
// with a run of '.', '!' or '?' followed by white space or the end, and
// its runes are counted from its first non-space rune.
//
// Markers: at each offset the scanner tries the markers that can start
// there. Per marker this is findAll's loop (the leftmost match from a
// position, the word-boundary check, the restart after the match or
// after its first rune): the candidates of one marker come in increasing
// order, and those before its restart position are skipped. A match that
// starts with a word rune right after one is not bounded, and a match
// that is not bounded only moves its marker's search to the next rune, so
// such offsets (the inside of a word) are not tried; nor are the
// continuation bytes of a rune, where no marker starts. A kind counts its
// matches once per start offset (citations, data, examples), per
// occurrence (precision, reasoning), or per marker with at least one match
// (hedges); offsets come in increasing order, so distinct starts need no
// sorting.
func analyze(t string, year int) textStats {
	var st scanner
	st.init(year)
	st.scan(t, len(t))
	return st.finish(t)
}

// scanner is the state of analyze's loop at the top of an iteration: what
// it has counted of t[:i]. Copied, it resumes the scan (see Checkpoint).
type scanner struct {
	a         textStats
	sc        scanState
	yr        years
	year      int
	numbers   int
	prevWord  bool
	i         int
	sentStart int
	// sentence: the current one begins at s0 (its first non-space byte,
	// -1 before it), with extraS0 the value of extra there; extra counts
	// the bytes of t so far beyond one per rune.
	s0, extra, extraS0 int
}

// init starts a scan at offset 0 for the given current year.
func (st *scanner) init(year int) {
	*st = scanner{year: year, s0: -1}
	for k := range st.sc.last {
		st.sc.last[k] = -1
	}
}

// scan runs analyze's loop over t from st.i until the top of an
// iteration at or beyond limit (or the end of t). A run of words that
// single spaces separate stops at its first space at or beyond limit: the
// next iteration reads that space as the loop reads any other, so where
// the scan stops does not change what it counts.
func (st *scanner) scan(t string, limit int) {
	a, sc, yr := &st.a, &st.sc, &st.yr
	year := st.year
	numbers, prevWord := st.numbers, st.prevWord
	sentStart, s0, extra, extraS0 := st.sentStart, st.s0, st.extra, st.extraS0
	i := st.i
	for i < len(t) && i < limit {
		b := t[i]
		c := class[b]
		switch {
		case c&clWord != 0:
			if s0 < 0 {
				s0, extraS0 = i, extra
			}
			// A run of ASCII letters and digits, and the next ones while
			// single spaces separate them.
			for {
				start := i
				if !prevWord {
					a.words++
					if c&clFirst != 0 && !a.fold {
						if cands := candidates.at(t, i); len(cands) > 0 {
							sc.try(t, i, cands)
						}
					}
				}
				// Numbers are the maximal runs of [0-9]+(?:[.,][0-9]+)*;
				// the byte before this run is no digit.
				if c&clDigit != 0 && !(i >= 2 && (t[i-1] == '.' || t[i-1] == ',') && isDigitByte(t[i-2])) {
					numbers++
				}
				for i++; i < len(t); i++ {
					d := class[t[i]]
					if d&clLetter != 0 {
						continue
					}
					if d&clDigit == 0 {
						break
					}
					if class[t[i-1]]&clDigit == 0 {
						numbers++
					}
				}
				if !prevWord && i-start == 4 {
					yr.word(t, start, year)
				}
				prevWord = true
				if i+1 >= len(t) || t[i] != ' ' || class[t[i+1]]&clWord == 0 || i >= limit {
					break
				}
				i++
				c, prevWord = class[t[i]], false
			}
		case b < utf8.RuneSelf:
			if s0 < 0 && c&clSpace == 0 {
				s0, extraS0 = i, extra
			}
			if c&clFirst != 0 && !a.fold {
				sc.try(t, i, candidates.at(t, i))
			}
			prevWord = false
			if c&clEnd == 0 {
				i++
				continue
			}
			j := i + 1
			for j < len(t) && class[t[j]]&clEnd != 0 {
				j++
			}
			if j == len(t) || spaceAt(t, j) {
				// The sentence t[s0:j], trimmed, ends with this run.
				if j-s0-(extra-extraS0) > 20 && t[j-1] != '?' {
					a.assertions++
				}
				sentStart, s0 = j, -1
			}
			i = j
		default:
			r, size := utf8.DecodeRuneInString(t[i:])
			if !a.fold && (size == 1 || unicode.SimpleFold(r) != r) {
				a.fold = true
			}
			if c&clFirst != 0 && !a.fold {
				sc.try(t, i, candidates.at(t, i))
			}
			w := isWord(r)
			if w && !prevWord {
				a.words++
			}
			if s0 < 0 && !unicode.IsSpace(r) {
				s0, extraS0 = i, extra
			}
			prevWord = w
			extra += size - 1
			i += size
		}
	}
	st.numbers, st.prevWord = numbers, prevWord
	st.sentStart, st.s0, st.extra, st.extraS0 = sentStart, s0, extra, extraS0
	st.i = i
}

// finish returns the analysis of t, which st has scanned to its end; st is
// left as it is.
func (st *scanner) finish(t string) textStats {
	a := st.a
	if isAssertion(strings.TrimSpace(t[st.sentStart:])) {
		a.assertions++
	}
	a.temporal = st.yr.temporal()
	sc := &st.sc
	a.counts = counts{
		citations:   sc.n[kindCitation],
		data:        sc.n[kindData],
		examples:    sc.n[kindExample],
		hedges:      sc.n[kindHedge],
		numbers:     st.numbers,
		precision:   sc.n[kindPrecision],
		connectives: sc.n[kindReasoning],
	}
	return a
}

// years sums the ages of the years of a text.
type years struct {
	found     bool
	sum, ages float64 // the ages at most 10, and how many
}

// word adds the word t[start:start+4], a maximal run of ASCII letters and
// digits starting a word, if it is a whole word and a year (1900–2099).
func (yr *years) word(t string, start, year int) {
	w := t[start : start+4]
	if class[w[0]]&class[w[1]]&class[w[2]]&class[w[3]]&clDigit == 0 || wordAt(t, start+4) {
		return
	}
	y := int(w[0]-'0')*1000 + int(w[1]-'0')*100 + int(w[2]-'0')*10 + int(w[3]-'0')
	if y < 1900 || y > 2099 {
		return
	}
	yr.found = true
	if age := max(0, year-y); age <= 10 {
		yr.sum += float64(age)
		yr.ages++
	}
}

// temporal returns the temporal component.
func (yr *years) temporal() float64 {
	switch {
	case !yr.found:
		return 0.8
	case yr.ages == 0:
		return 0.3
	}
	return clamp01(1 - yr.sum/yr.ages/10)
}

// wordAt reports whether a word rune starts at offset i of s (false at
// the end).
func wordAt(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	if s[i] < utf8.RuneSelf {
		return isWordByte(s[i])
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return isWord(r)
}

// spaceAt reports whether the rune at offset i < len(s) of s is white
// space (unicode.IsSpace).
func spaceAt(s string, i int) bool {
	if s[i] < utf8.RuneSelf {
		return class[s[i]]&clSpace != 0
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return unicode.IsSpace(r)
}

// try runs cands, the candidates of offset at of t.
func (sc *scanState) try(t string, at int, cands []candidate) {
	var key uint32 // t[at:at+4], lowered, 0 past the end
	if at+4 <= len(t) {
		w := t[at : at+4]
		key = uint32(lower[w[0]]) | uint32(lower[w[1]])<<8 | uint32(lower[w[2]])<<16 | uint32(lower[w[3]])<<24
	} else {
		for k := range len(t) - at {
			key |= uint32(lower[t[at+k]]) << (8 * k)
		}
	}
	e, j := -1, -1 // the number at at and the spaces after it, once read
	for k := range cands {
		c := &cands[k]
		if key&c.mask != c.key || at < sc.next[c.id] {
			continue
		}
		m := c.m
		if c.long && !hasPrefixAt(t, at+4, m.prefix[4:]) {
			continue
		}
		var end int
		if m.tail != nil {
			if e < 0 {
				e = number(t, at)
				j = spaces(t, e)
			}
			end = m.tail(t, e, j)
		} else {
			end = m.match(t, at)
		}
		if end < 0 {
			continue
		}
		if !bounded(t, at, end) {
			_, size := utf8.DecodeRuneInString(t[at:])
			sc.next[c.id] = at + max(size, 1)
			continue
		}
		sc.next[c.id] = end
		sc.far = max(sc.far, end)
		switch c.kind {
		case kindCitation, kindData, kindExample:
			if sc.last[c.kind] != at {
				sc.last[c.kind] = at
				sc.n[c.kind]++
			}
		case kindHedge:
			if bit := uint64(1) << c.id; sc.found&bit == 0 {
				sc.found |= bit
				sc.n[kindHedge]++
			}
		default:
			sc.n[c.kind]++
		}
	}
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
		if hasPrefixAt(s, i, w) {
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
			if j == i || !hasPrefixAt(s, j, w) {
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

// numberThen matches a number followed by what tail matches (see marker.tail).
func numberThen(tail func(s string, e, j int) int) marker {
	return marker{first: digitSet, tail: tail}
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
		if k := spaces(s, j); k > j && hasPrefixAt(s, k, "et") {
			if m := spaces(s, k+2); m > k+2 && hasPrefixAt(s, m, "al") {
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
		if k < len(s) && 'a' <= lowerByte(s, k) && lowerByte(s, k) <= 'z' {
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
		if i < len(s) && lowerByte(s, i) == 's' {
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
	numberThen(func(s string, _, j int) int { return longestOf(s, j, "%", "percent") }),
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
	numberThen(func(s string, _, j int) int { return timeUnit(s, j) }),
	// [0-9]+(?:[.,][0-9]+)*\s*(?:kb|mb|gb|tb)
	numberThen(func(s string, _, j int) int {
		if j+1 < len(s) && lowerByte(s, j+1) == 'b' {
			switch lowerByte(s, j) {
			case 'k', 'm', 'g', 't':
				return j + 2
			}
		}
		return -1
	}),
	// [0-9]+(?:[.,][0-9]+)*(?:x|\s*×)
	numberThen(func(s string, e, j int) int {
		if e < len(s) && lowerByte(s, e) == 'x' {
			return e + 1
		}
		return longestOf(s, j, "×")
	}),
	// (?:increased|decreased|improved|reduced)(?:\s+by)?\s+[$€£]?[0-9]+,
	// one marker per verb: no verb can start inside another's match, so
	// the restarts after a match skip the same candidates.
	changedBy("increased"), changedBy("decreased"), changedBy("improved"), changedBy("reduced"),
}

// timeUnit returns the end of the longest of ms, s, secs?, seconds?,
// minutes?, hours?, days? and weeks? at j, or -1. No two of them start
// alike beyond a shared stem, so the longest is read off the letters.
func timeUnit(s string, j int) int {
	if j >= len(s) {
		return -1
	}
	switch lowerByte(s, j) {
	case 'm':
		if hasPrefixAt(s, j, "ms") {
			return j + 2
		}
		return plural(s, j, "minute")
	case 's':
		if e := plural(s, j, "second"); e >= 0 {
			return e
		}
		if e := plural(s, j, "sec"); e >= 0 {
			return e
		}
		return j + 1
	case 'h':
		return plural(s, j, "hour")
	case 'd':
		return plural(s, j, "day")
	case 'w':
		return plural(s, j, "week")
	}
	return -1
}

// plural returns the end of word, or of word "s", at j, or -1.
func plural(s string, j int, word string) int {
	if !hasPrefixAt(s, j, word) {
		return -1
	}
	e := j + len(word)
	if e < len(s) && lowerByte(s, e) == 's' {
		e++
	}
	return e
}

// changedBy matches verb(?:\s+by)?\s+[$€£]?[0-9]+.
func changedBy(verb string) marker {
	return marker{prefix: verb, match: func(s string, i int) int {
		j := i + len(verb)
		k := spaces(s, j)
		if k == j {
			return -1
		}
		if hasPrefixAt(s, k, "by") {
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
			if !hasPrefixAt(s, i, "g.") {
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

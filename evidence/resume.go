package evidence

import (
	"math"
	mathbits "math/bits"
	"strings"
	"time"
)

// Checkpoint lets [ScoreExtending] score a text that begins with the
// previous text it scored (a revision that appends to its proposal) by
// scanning only the end of it. The zero value holds nothing.
//
// It holds the scanner's state at a point P of the previous text whose
// scan does not depend on anything at or after the text's end: P is the
// start of the ninth last run of \s, and a '[' before P must be followed,
// inside the text, by a byte the citation list [1, 2 – 3] cannot take.
// Every marker expression but that list crosses at most seven runs of \s
// ("( Lee and Kim et al., 2021 )"), and reads at most one byte beyond the
// last non-space run it takes; the loop of analyze reads at most one byte
// beyond an iteration. So what the scan counted before P is the same for
// every text that begins with the previous one, and it resumes at P.
//
// It keeps the scanner's state compactly (a debate keeps one per agent
// while it waits for them): the offsets and counts as 32-bit numbers, and
// of the markers' search positions (scanState.next) only those beyond P,
// as their distance from P (at most maxAhead of them, each at most
// math.MaxUint16); what the scan read before P otherwise matters no more
// at or after P (resume). A state that does not fit is not kept (save);
// the checkpoint then keeps what it held, or nothing. It also keeps the
// text and the analysis of all of it (savedText), so that a text equal to
// it is scored without a scan: in place, not apart, so that scoring a
// proposal allocates nothing.
type Checkpoint struct {
	saved savedText // the text scanned to the checkpoint, its text "" for none
	year  int32
	// The scanner at P: i (P), a.words, a.assertions, numbers, sentStart;
	// s0+1 (0 for no sentence begun); extra-extraS0 in a sentence, else 0.
	pos, words, assertions, numbers, sentStart, s0, extra uint32
	// hedges is sc.found shifted right by firstHedge: it has the hedges'
	// bits only, and sc.n[kindHedge] is its number of bits.
	hedges uint32
	n      [numKinds - 1]uint32 // sc.n but its hedges
	// yrSum and yrAges are yr.sum and yr.ages, whole numbers.
	yrSum, yrAges uint32
	// aheadID and ahead hold the markers whose search resumes beyond P,
	// sc.next[id] = P+ahead (ahead 0: no marker).
	ahead   [maxAhead]uint16
	aheadID [maxAhead]uint8
	flags   uint8 // cpPrevWord, cpFold, cpYear
}

// savedText is the text of a Checkpoint and, when whole, what Score reads
// of all of it for the checkpoint's year (its analysis and marker counts):
// a text equal to it (an agent that repeats its proposal) is scored from
// them, without a scan. A checkpoint's text is never "" (save keeps a text
// of two bytes or more, and a text resumed extends it).
type savedText struct {
	text               string
	temporal           float64
	words, assertions  uint32
	citations, data    uint32
	examples, hedges   uint32
	numbers, precision uint32
	connectives        uint32
	whole              bool
}

// text returns the text the checkpoint holds, "" for none.
func (cp *Checkpoint) text() string { return cp.saved.text }

// keep sets s.whole and the analysis a of s.text and its marker counts m,
// if they fit.
func (s *savedText) keep(a *textStats, m counts) {
	if uint64(max(a.words, a.assertions, m.citations, m.data, m.examples, m.hedges, m.numbers, m.precision,
		m.connectives)) > math.MaxUint32 {
		return
	}
	*s = savedText{text: s.text, whole: true, words: uint32(a.words), assertions: uint32(a.assertions),
		temporal: a.temporal, citations: uint32(m.citations), data: uint32(m.data), examples: uint32(m.examples),
		hedges: uint32(m.hedges), numbers: uint32(m.numbers), precision: uint32(m.precision),
		connectives: uint32(m.connectives)}
}

// score returns the scores of s.text, s whole, under w.
func (s *savedText) score(w Weights) Scores {
	if s.words == 0 {
		return Scores{}
	}
	a := textStats{words: int(s.words), assertions: int(s.assertions), temporal: s.temporal}
	return a.score(counts{citations: int(s.citations), data: int(s.data), examples: int(s.examples),
		hedges: int(s.hedges), numbers: int(s.numbers), precision: int(s.precision),
		connectives: int(s.connectives)}, w)
}

// maxAhead is the number of markers a Checkpoint can keep whose search
// resumes beyond the checkpoint.
const maxAhead = 5

// firstHedge is the number of the first hedge marker, the citation, data
// and example markers coming before (kinds).
const firstHedge = 6 + 9 + 7

// The flags of a Checkpoint: st.prevWord, st.a.fold and st.yr.found.
const (
	cpPrevWord = 1 << iota
	cpFold
	cpYear
)

// save stores st, the scanner at the top of an iteration at offset st.i of
// text, in cp, if it fits; it reports whether it did, and leaves cp as it
// was if not.
func (cp *Checkpoint) save(text string, st *scanner) bool {
	sc, p := &st.sc, st.i
	if uint64(len(text)) > math.MaxUint32 || int(int32(st.year)) != st.year ||
		!(st.yr.sum <= math.MaxUint32 && st.yr.ages <= math.MaxUint32) ||
		sc.found>>firstHedge > math.MaxUint32 || sc.found&(1<<firstHedge-1) != 0 ||
		mathbits.OnesCount64(sc.found) != sc.n[kindHedge] {
		return false
	}
	// Every offset is at most len(text); counts may not be.
	n := &sc.n
	if uint64(max(st.a.words, st.a.assertions, st.numbers, n[kindCitation], n[kindData], n[kindExample],
		n[kindPrecision], n[kindReasoning])) > math.MaxUint32 {
		return false
	}
	c := Checkpoint{saved: savedText{text: text}, year: int32(st.year), pos: uint32(p), words: uint32(st.a.words),
		assertions: uint32(st.a.assertions), numbers: uint32(st.numbers), sentStart: uint32(st.sentStart),
		s0: uint32(st.s0 + 1), hedges: uint32(sc.found >> firstHedge), yrSum: uint32(st.yr.sum), yrAges: uint32(st.yr.ages),
		n: [...]uint32{uint32(n[kindCitation]), uint32(n[kindData]), uint32(n[kindExample]), uint32(n[kindPrecision]),
			uint32(n[kindReasoning])}}
	if st.s0 >= 0 {
		c.extra = uint32(st.extra - st.extraS0)
	}
	// A search that resumes beyond p does so after a bounded match: an
	// unbounded one at a < p moves it past the rune at a, and p starts a
	// rune.
	if sc.far > p {
		a := 0
		for id, next := range sc.next {
			if next <= p {
				continue
			}
			if a == maxAhead || next-p > math.MaxUint16 {
				return false
			}
			c.aheadID[a], c.ahead[a] = uint8(id), uint16(next-p)
			a++
		}
	}
	if st.prevWord {
		c.flags |= cpPrevWord
	}
	if st.a.fold {
		c.flags |= cpFold
	}
	if st.yr.found {
		c.flags |= cpYear
	}
	*cp = c
	return true
}

// resume sets st, a scanner just started (init) for cp's year, to the
// scanner that cp holds, or one that counts the same from its offset on: a
// marker's search that resumes at or before it, and the last start a kind
// counted (before it), compare as if none.
func (cp *Checkpoint) resume(st *scanner) {
	p := int(cp.pos)
	st.i, st.a.words, st.a.assertions, st.numbers = p, int(cp.words), int(cp.assertions), int(cp.numbers)
	st.sentStart, st.s0, st.extra = int(cp.sentStart), int(cp.s0)-1, int(cp.extra)
	st.yr.sum, st.yr.ages = float64(cp.yrSum), float64(cp.yrAges)
	st.prevWord, st.a.fold, st.yr.found = cp.flags&cpPrevWord != 0, cp.flags&cpFold != 0, cp.flags&cpYear != 0
	sc := &st.sc
	sc.found = uint64(cp.hedges) << firstHedge
	sc.n = [...]int{kindCitation: int(cp.n[0]), kindData: int(cp.n[1]), kindExample: int(cp.n[2]),
		kindHedge: mathbits.OnesCount64(sc.found), kindPrecision: int(cp.n[3]), kindReasoning: int(cp.n[4])}
	for a, d := range cp.ahead {
		if d != 0 {
			sc.next[cp.aheadID[a]] = p + int(d)
			sc.far = max(sc.far, p+int(d))
		}
	}
}

// resumeRuns is the number of runs of \s a checkpoint keeps after it.
const resumeRuns = 9

// resumePoint returns the start of the resumeRuns-th last run of \s of t,
// or -1.
func resumePoint(t string) int {
	if len(t) < 2 {
		return -1
	}
	n := 0
	at := class[t[len(t)-1]] & clS // of t[k]
	for k := len(t) - 1; k > 0; k-- {
		before := class[t[k-1]] & clS
		if at > before {
			if n++; n == resumeRuns {
				return k
			}
		}
		at = before
	}
	return -1
}

// bracketsEnd reports whether every '[' of t[:p] is followed, before the
// end of t, by a byte that a citation list cannot take (a superset of
// what the '[' marker reads: digits, \s, ',', ';', '-', ']' and the bytes
// of '–').
func bracketsEnd(t string, p int) bool {
	for off := 0; ; {
		b := strings.IndexByte(t[off:p], '[')
		if b < 0 {
			return true
		}
		b += off
		k := b + 1
		for k < len(t) && inList(t[k]) {
			k++
		}
		if k >= len(t) {
			return false
		}
		off = b + 1
	}
}

func inList(c byte) bool {
	return isDigitByte(c) || isSpace(c) || c == ',' || c == ';' || c == '-' || c == ']' ||
		c == 0xe2 || c == 0x80 || c == 0x93
}

// ScoreExtending returns Score(text, now, w). When cp holds a checkpoint
// of text itself, for the same year, the scores come from the analysis it
// keeps; of a text that text begins with, the scan resumes there. cp is
// then updated for text: a checkpoint nearer its end, or the one resumed
// (it holds for every text that begins with text), with the analysis of
// text; or it is emptied.
func ScoreExtending(text string, now time.Time, w Weights, cp *Checkpoint) Scores {
	year := now.UTC().Year()
	if s := &cp.saved; s.whole && int(cp.year) == year && s.text == text {
		return s.score(w)
	}
	var st scanner
	st.init(year)
	resumed := false
	if s := &cp.saved; s.text != "" && int(cp.year) == year && strings.HasPrefix(text, s.text) {
		cp.resume(&st)
		resumed = true
	} else {
		*cp = Checkpoint{}
	}
	saved := false
	if p := resumePoint(text); p > st.i {
		st.scan(text, p)
		if st.i == p && bracketsEnd(text, p) {
			saved = cp.save(text, &st)
		}
	}
	st.scan(text, len(text))
	a := st.finish(text)
	var m counts // none read without words
	if a.words > 0 {
		m = a.markers(text)
	}
	if saved || resumed {
		// A checkpoint resumed holds for text too, which begins with its
		// text: it keeps text instead.
		if !saved {
			cp.saved = savedText{text: text}
		}
		cp.saved.keep(&a, m)
	}
	if a.words == 0 {
		return Scores{}
	}
	return a.score(m, w)
}

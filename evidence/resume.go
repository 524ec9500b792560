package evidence

import (
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
type Checkpoint struct {
	text string // the text scanned to the checkpoint
	ok   bool
	st   scanner
}

// resumeRuns is the number of runs of \s a checkpoint keeps after it.
const resumeRuns = 9

// resumePoint returns the start of the resumeRuns-th last run of \s of t,
// or -1.
func resumePoint(t string) int {
	n := 0
	for k := len(t) - 1; k > 0; k-- {
		if isSpace(t[k]) && !isSpace(t[k-1]) {
			if n++; n == resumeRuns {
				return k
			}
		}
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
// of a text that text begins with, for the same year, the scan resumes
// there. cp is then updated for text, or kept when resumed (it holds for
// every text that begins with text), or emptied.
func ScoreExtending(text string, now time.Time, w Weights, cp *Checkpoint) Scores {
	year := now.UTC().Year()
	var st scanner
	resumed := cp.ok && cp.st.year == year && strings.HasPrefix(text, cp.text)
	if resumed {
		st = cp.st
	} else {
		st.init(year)
		cp.ok = false
	}
	if p := resumePoint(text); p > st.i {
		st.scan(text, p)
		if st.i == p && bracketsEnd(text, p) {
			cp.text, cp.st, cp.ok = text, st, true
		}
	}
	st.scan(text, len(text))
	a := st.finish(text)
	if a.words == 0 {
		return Scores{}
	}
	return a.score(a.markers(text), w)
}

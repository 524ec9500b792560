package evidence

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// requireExtendingMatches scores texts in turn with one Checkpoint, each
// text usually the previous one extended, and compares every score with
// Score's, bit for bit.
func requireExtendingMatches(t *testing.T, now time.Time, texts ...string) {
	t.Helper()
	var cp Checkpoint
	for _, text := range texts {
		got := ScoreExtending(text, now, Weights{}, &cp)
		require.Equal(t, bits(Score(text, now, Weights{})), bits(got), "%q", text)
	}
}

// TestScoreExtendingMatchesScore scores chains of texts each extending the
// previous one (random pieces, and the peer debate's proposals with
// revision sentences), a text that does not extend it, and a change of
// year.
func TestScoreExtendingMatchesScore(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	later := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(11, 12))
	for range 300 {
		base := randomScoreText(r)
		chain := []string{base}
		for range 3 {
			chain = append(chain, chain[len(chain)-1]+randomScoreText(r))
		}
		requireExtendingMatches(t, now, chain...)
		// A cut inside the checkpoint's horizon, another year, an unrelated text.
		cut := chain[2][:r.IntN(len(chain[2])+1)]
		requireExtendingMatches(t, now, chain[2], cut, chain[3])
		requireExtendingMatches(t, now, chain[1], chain[2])
		var cp Checkpoint
		ScoreExtending(chain[1], now, Weights{}, &cp)
		require.Equal(t, bits(Score(chain[2], later, Weights{})), bits(ScoreExtending(chain[2], later, Weights{}, &cp)))
	}
	suffix := " Revision: I accept demo-b's point (severity 6.5) that \"the rollout [1, 2 lacks a cost estimate\" and have addressed it in the plan above."
	for _, p := range proposalTexts(t) {
		requireExtendingMatches(t, now, p, p+suffix, p+suffix+suffix, p+suffix+" [3", p+suffix+" [3, 4]")
		for k := range len(suffix) {
			requireExtendingMatches(t, now, p, p+suffix[:k], p+suffix)
		}
	}
}

func FuzzScoreExtending(f *testing.F) {
	r := rand.New(rand.NewPCG(13, 14))
	for range 20 {
		f.Add(randomScoreText(r)+randomScoreText(r), randomScoreText(r), randomScoreText(r))
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
		requireExtendingMatches(t, now, a, a+b, a+b+c)
		requireExtendingMatches(t, now, a+b, a, a+c)
		requireExtendingMatches(t, now, a, a, a+b, a+b, a+b+c, a+b, a, a)
	})
}

// TestScoreExtendingRepeats scores texts that repeat the one before (an
// agent whose revision is its proposal), which score from the analysis the
// Checkpoint keeps, and compares with Score, bit for bit: after a scan
// from the start, from a checkpoint, after a change of year, with case
// folding (the (?i) expressions count the markers), with a copy of the
// Checkpoint.
func TestScoreExtendingRepeats(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	later := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(15, 16))
	texts := proposalTexts(t)
	for range 100 {
		texts = append(texts, randomScoreText(r)+randomScoreText(r))
	}
	texts = append(texts, "Proposal from agent0: adopt a staged migration with a 90-day pilot and rollback plan.",
		"Ärger: for example, in 2024 the ÉTAT reported (Smith 2021) a 35% gain because of [1, 2] — typically.",
		"", "   ", "a b", "short text with no checkpoint.")
	for _, p := range texts {
		requireExtendingMatches(t, now, p, p, p)
		requireExtendingMatches(t, now, p, p+" More: 5 ms, since 2023.", p+" More: 5 ms, since 2023.", p, p)
		var cp Checkpoint
		ScoreExtending(p, now, Weights{}, &cp)
		if cp.saved.text != "" {
			require.Equal(t, p, cp.saved.text)
			require.True(t, cp.saved.whole)
		}
		cp2 := cp
		require.Equal(t, bits(Score(p+" and more", now, Weights{})), bits(ScoreExtending(p+" and more", now, Weights{}, &cp)))
		require.Equal(t, bits(Score(p, now, Weights{})), bits(ScoreExtending(p, now, Weights{}, &cp2)))
		require.Equal(t, bits(Score(p, later, Weights{})), bits(ScoreExtending(p, later, Weights{}, &cp2)))
		require.Equal(t, bits(Score(p, later, Weights{})), bits(ScoreExtending(p, later, Weights{}, &cp2)))
		w := Weights{Citation: 0.5, Specificity: 0.5}
		require.Equal(t, bits(Score(p, later, w)), bits(ScoreExtending(p, later, w, &cp2)))
	}
}

// TestCheckpointLayout checks the constants a Checkpoint is packed with.
func TestCheckpointLayout(t *testing.T) {
	t.Parallel()
	require.Equal(t, firstHedge, len(citationMarkers)+len(dataMarkers)+len(exampleMarkers))
	require.LessOrEqual(t, len(hedgeMarkers), 32)
	require.Less(t, numMarkers, 256)
	// A debate keeps one per agent while it waits, with its text and
	// analysis in place: five fit 720 bytes.
	require.LessOrEqual(t, unsafe.Sizeof(Checkpoint{}), uintptr(144))
}

// TestCheckpointNotSaved checks that a scanner whose state a Checkpoint
// cannot hold is not saved, and that scores stay those of Score: a marker
// whose search resumes too far beyond the checkpoint (a match across a run
// of 70000 spaces), more such markers than it has room for, a year beyond
// 32 bits.
func TestCheckpointNotSaved(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	var cp Checkpoint
	for _, spaces := range []int{100, 70000} {
		text := "for" + strings.Repeat(" ", spaces) + "example a b c d e f g h"
		require.Equal(t, 3, resumePoint(text))
		requireExtendingMatches(t, now, text, text+" i", text+" i j")
		cp = Checkpoint{}
		ScoreExtending(text, now, Weights{}, &cp)
		if spaces < math.MaxUint16 {
			require.Equal(t, text, cp.text())
			require.Equal(t, uint16(spaces+len("example")), cp.ahead[0])
		} else {
			require.Empty(t, cp.text())
		}
	}

	var st scanner
	st.init(2025)
	st.scan("a b", 1)
	require.True(t, cp.save("a b", &st))
	saved := cp
	for id := range maxAhead + 1 {
		st.sc.next[id] = 2 // as after bounded matches ending at 2
	}
	st.sc.far = 2
	require.False(t, cp.save("a b", &st))
	require.Equal(t, saved, cp)
	st.init(1 << 40)
	st.scan("a b", 1)
	require.False(t, cp.save("a b", &st))
	require.Equal(t, saved, cp)
}

// resumePointByBytes is resumePoint as first written, byte by byte with
// isSpace.
func resumePointByBytes(t string) int {
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

// TestResumePointMatchesBytes compares resumePoint with resumePointByBytes
// on random texts of every white-space byte (and \v, which \s lacks).
func TestResumePointMatchesBytes(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(17, 18))
	alphabet := []string{" ", "\t", "\n", "\f", "\r", "\v", "a", "Z", "9", ".", "é", "\x85", "\xa0", "  "}
	for range 3000 {
		var b strings.Builder
		for range r.IntN(40) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		text := b.String()
		require.Equal(t, resumePointByBytes(text), resumePoint(text), "%q", text)
	}
	for range 3000 { // any bytes
		b := make([]byte, r.IntN(100))
		for k := range b {
			b[k] = byte(r.IntN(256))
			if r.IntN(3) == 0 {
				b[k] = byte(r.IntN(0x21))
			}
		}
		require.Equal(t, resumePointByBytes(string(b)), resumePoint(string(b)), "%q", b)
	}
	for _, text := range []string{"", " ", "a", "a ", " a", strings.Repeat("a ", 9), strings.Repeat(" a", 9), strings.Repeat(" a", 10),
		strings.Repeat("\t\n\f\r \v\xa0x", 12), strings.Repeat("abcdefg ", 12), strings.Repeat(" ", 40)} {
		require.Equal(t, resumePointByBytes(text), resumePoint(text), "%q", text)
	}
}

// TestScoreExtendingAllocatesNothing checks that scoring a proposal, its
// revision that extends it and the revision again keeps the checkpoint's
// text and analysis in place: no allocation.
func TestScoreExtendingAllocatesNothing(t *testing.T) {
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	p := "Proposal: adopt a staged migration with a 90-day pilot, because (Smith 2021) reported a 35% gain in 2023."
	rev := p + " Revised: for example, measure the error rate weekly."
	cp := new(Checkpoint)
	allocs := testing.AllocsPerRun(20, func() {
		*cp = Checkpoint{}
		ScoreExtending(p, now, Weights{}, cp)
		ScoreExtending(rev, now, Weights{}, cp)
		ScoreExtending(rev, now, Weights{}, cp)
	})
	require.Equal(t, p+" Revised: for example, measure the error rate weekly.", cp.text())
	require.True(t, cp.saved.whole)
	require.Zero(t, allocs)
}

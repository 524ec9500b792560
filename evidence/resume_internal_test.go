package evidence

import (
	"math/rand/v2"
	"testing"
	"time"

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
	})
}

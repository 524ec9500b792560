package evidence

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// proposalTexts returns the 15 proposals of the peer benchmark's debate
// (docs/BENCHMARKS.md: 5 demo agents, 3 rounds; testdata/proposals.txt, one
// a line).
func proposalTexts(tb testing.TB) []string {
	raw, err := os.ReadFile("testdata/proposals.txt")
	require.NoError(tb, err)
	texts := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	require.Len(tb, texts, 15)
	return texts
}

// BenchmarkScoreDebate scores the proposals of one peer debate as the
// engine does: one Score per fresh proposal.
func BenchmarkScoreDebate(b *testing.B) {
	texts := proposalTexts(b)
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		for _, text := range texts {
			Score(text, now, Weights{})
		}
	}
}

// BenchmarkScoreDebateExtending scores them with ScoreExtending and one
// Checkpoint per agent, as the engine does (a revision extends the
// agent's previous proposal).
func BenchmarkScoreDebateExtending(b *testing.B) {
	texts := proposalTexts(b)
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		var cps [5]Checkpoint
		for i, text := range texts {
			ScoreExtending(text, now, Weights{}, &cps[i%5])
		}
	}
}

package evidence_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/evidence"
)

// BenchmarkScoreDebate scores the 15 proposals of one peer debate
// (docs/BENCHMARKS.md: 5 demo agents, 3 rounds; testdata/proposals.txt, one
// a line), as the engine does: one Score per fresh proposal.
func BenchmarkScoreDebate(b *testing.B) {
	raw, err := os.ReadFile("testdata/proposals.txt")
	require.NoError(b, err)
	texts := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	require.Len(b, texts, 15)
	b.ReportAllocs()
	for b.Loop() {
		for _, text := range texts {
			evidence.Score(text, now2025, evidence.Weights{})
		}
	}
}

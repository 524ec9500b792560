package similarity_test

import (
	"encoding/json"
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/similarity"
)

// debateProposals returns the proposals of the peer benchmark's debate
// (docs/BENCHMARKS.md), round by round: 5 demo agents, 3 rounds.
func debateProposals(tb testing.TB) [][]string {
	b, err := os.ReadFile("testdata/proposals.json")
	require.NoError(tb, err)
	var rounds [][]string
	require.NoError(tb, json.Unmarshal(b, &rounds))
	return rounds
}

// debateCorpora returns the corpora a debate over rounds compares, round
// by round: the round's proposals with the previous round's (convergence),
// then the round's alone (vote grouping).
func debateCorpora(rounds [][]string) [][]string {
	var out [][]string
	for i, r := range rounds {
		c := append([]string(nil), r...)
		if i > 0 {
			c = append(c, rounds[i-1]...)
		}
		out = append(out, c, r)
	}
	return out
}

// BenchmarkCachedDebate makes the similarity calls of one peer debate
// through one Cached TF-IDF, as the engine does.
func BenchmarkCachedDebate(b *testing.B) {
	corpora := debateCorpora(debateProposals(b))
	b.ReportAllocs()
	for b.Loop() {
		c := similarity.Cached(similarity.TFIDF{})
		for _, texts := range corpora {
			c.Matrix(texts)
		}
	}
}

// BenchmarkCachedDebateRounds makes the similarity calls of one peer
// debate as the engine makes them: each round, PairsRetain over the round's
// proposals and the previous round's (the pairs of the convergence check),
// then Matrix over the round's (the vote grouping).
func BenchmarkCachedDebateRounds(b *testing.B) {
	b.Run("released", func(b *testing.B) { benchDebateRounds(b, true) })
	// Debates that all run at once (the concurrent benchmark,
	// docs/BENCHMARKS.md) find no released tables to take.
	b.Run("fresh", func(b *testing.B) { benchDebateRounds(b, false) })
}

func benchDebateRounds(b *testing.B, release bool) {
	rounds := debateProposals(b)
	b.ReportAllocs()
	for b.Loop() {
		c := similarity.Cached(similarity.TFIDF{})
		var prev []string
		for _, cur := range rounds {
			corpus := append(append([]string(nil), cur...), prev...)
			var pairs [][2]int
			for i := range cur {
				for j := i + 1; j < len(cur); j++ {
					pairs = append(pairs, [2]int{i, j})
				}
				if prev != nil {
					pairs = append(pairs, [2]int{i, len(cur) + i})
				}
			}
			similarity.PairsRetain(c, corpus, pairs, len(cur), true)
			c.Matrix(cur)
			prev = cur
		}
		if release {
			similarity.Release(c)
		}
	}
}

// BenchmarkCachedHeld reports the heap that a debate's Cached holds
// between calls (after the last vote grouping), per debate, with 100
// debates in flight.
func BenchmarkCachedHeld(b *testing.B) {
	corpora := debateCorpora(debateProposals(b))
	const inFlight = 100
	held := make([]similarity.Similarity, inFlight)
	var before, after runtime.MemStats
	var total float64
	b.ReportAllocs()
	for b.Loop() {
		clear(held)
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range held {
			held[i] = similarity.Cached(similarity.TFIDF{})
			for _, texts := range corpora {
				held[i].Matrix(texts)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		total += float64(after.HeapAlloc-before.HeapAlloc) / inFlight
	}
	runtime.KeepAlive(held)
	b.ReportMetric(total/float64(b.N), "held-B/debate")
}

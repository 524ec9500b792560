package evfast_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/demo"
	"github.com/aragora/aragora/bench/internal/evfast"
	"github.com/aragora/aragora/evidence"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// corpus returns demo proposals and revisions plus hand-written edge cases
// (mixed case, Unicode folding, citations, numbers).
func corpus(t testing.TB) []string {
	var out []string
	for i, s := range []demo.Style{demo.StyleBalanced, demo.StyleSupportive, demo.StyleCritical, demo.StyleContrarian, demo.StyleHollow} {
		a := demo.New(fmt.Sprintf("demo-%d", i), s, int64(i))
		for _, q := range []string{"Should we migrate the billing service to Postgres?", "Adopt Kubernetes in 2024?"} {
			for _, ph := range []agent.Phase{agent.PhasePropose, agent.PhaseRevise} {
				r, err := a.Respond(context.Background(), agent.Request{Phase: ph, Question: q, Round: 1, Participant: a.Name()})
				require.NoError(t, err)
				out = append(out, r.Text)
			}
		}
	}
	return append(out,
		"According To Smith (Lee et al., 2021) latency DECREASED BY 40% [1, 2]; Therefore we should Migrate. See https://example.com/x.",
		"For Example, THUS it follows that 5 Seconds, 3GB and 2x. Generally, it Depends. SPECIFICALLY measured at 10ms.",
		"Ünïcode: ſince the Kelvin sign K and straße, según (Müller 2020) — therefore 30 %.",
		"", "   ", "e.g. doi: 10.1000/182 source: ACM; $5 and €7 increased 12 percent",
	)
}

func TestSameCounts(t *testing.T) {
	c := evfast.New()
	for i, text := range corpus(t) {
		assert.Equal(t, c.Slow(text), c.Fast(text), "text %d: %q", i, text)
	}
}

func BenchmarkMarkers(b *testing.B) {
	c := evfast.New()
	texts := corpus(b)
	b.Run("evidence.Score", func(b *testing.B) {
		b.ReportAllocs()
		now := time.Now()
		for i := 0; b.Loop(); i++ {
			evidence.Score(texts[i%len(texts)], now, evidence.Weights{})
		}
	})
	b.Run("slow-copy", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			c.Slow(texts[i%len(texts)])
		}
	})
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			c.Fast(texts[i%len(texts)])
		}
	})
}

// TestSameCountsRandom compares both paths on seeded random texts built from
// marker words, digits, case variants and Unicode that does or does not fold.
func TestSameCountsRandom(t *testing.T) {
	parts := []string{"According", "to", "SMITH", "(Lee", "et", "al.,", "2021)", "[1,", "2]", "https://x.io/a", "doi:", "10.", "Source:",
		"ACM", "40%", "percent", "$5", "€7", "12ms", "3", "Seconds", "5GB", "2x", "×", "Increased", "by", "For", "Example", "e.g.",
		"Such", "As", "Generally", "Might", "could", "Potentially", "it", "Depends", "Specifically", "Measured", "at", "Therefore",
		"THUS", "because", "Since", "given", "that", "hence", "—", "’", "é", "É", "K", "ſ", "straße", ".", ",", "\n", "  ", "ab1", "1.5", "2,000"}
	c := evfast.New()
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		var b strings.Builder
		for range r.IntN(40) {
			b.WriteString(parts[r.IntN(len(parts))])
			if r.IntN(3) > 0 {
				b.WriteByte(' ')
			}
		}
		text := b.String()
		require.Equal(t, c.Slow(text), c.Fast(text), "case %d: %q", i, text)
	}
}

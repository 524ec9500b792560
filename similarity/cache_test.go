package similarity

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCachedEqualsBackend compares the cached backends with the plain
// ones, bit for bit, over seeded random corpora that repeat texts across
// calls and within a call, in every order.
func TestCachedEqualsBackend(t *testing.T) {
	t.Parallel()
	words := []string{"Postgres", "postgres", "billing", "migrate", "the", "a", "pilot", "rollback", "90", "days",
		"cost", "Ünïcode", "ÉTÉ", "中文", "risk", "plan", "staged", "", "—"}
	r := rand.New(rand.NewPCG(5, 6))
	pool := make([]string, 40)
	for i := range pool {
		var b strings.Builder
		for range r.IntN(40) {
			b.WriteString(words[r.IntN(len(words))])
			b.WriteString([]string{" ", ", ", ". ", "\n"}[r.IntN(4)])
		}
		pool[i] = b.String()
	}
	c := Cached(TFIDF{}).(*cached)
	for _, text := range append(pool, "Straße ǅemal İstanbul ΣΑΣ x\xffy 12ab") {
		var toks []string
		for _, sym := range c.doc(text).seq {
			toks = append(toks, c.names[sym])
		}
		require.Equal(t, Tokens(text), toks, "%q", text)
	}
	for _, s := range []Similarity{TFIDF{}, Jaccard{}} {
		c := Cached(s)
		require.Equal(t, s.Name(), c.Name())
		for range 300 {
			texts := make([]string, r.IntN(12))
			for i := range texts {
				texts[i] = pool[r.IntN(len(pool))]
			}
			require.Equal(t, s.Matrix(texts), c.Matrix(texts), "%s %q", s.Name(), texts)
		}
	}
}

// custom is a backend the cache does not know.
type custom struct{ TFIDF }

func TestCachedPassesOtherBackendsThrough(t *testing.T) {
	t.Parallel()
	require.Equal(t, custom{}, Cached(custom{}))
}
